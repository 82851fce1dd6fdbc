"""Search on SQLite FTS5 and PostgreSQL: prefixes, folded accents, <mark> highlights in
escaped HTML, the index kept in step with the table, and never another user's messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, text, update

from causerie.store.db import Database
from causerie.store.search import SearchHit, highlight, search_messages, search_terms
from causerie.store.tables import ChatMessage, Conversation, User

CANARY = "zanzibarcanary"
HOSTILE = [
    '"',
    '""',
    "*",
    "AND",
    "OR NOT",
    "NEAR(",
    "NEAR(a b",
    ")(",
    "(",
    "a:b",
    "^start",
    "content:",
    "'; drop table users; --",
    "\\",
    "!!&&||",
    "<->",
    "a & | ! b",
    "'",
    "%_%",
    "\x00",
    "\ud800",
    "🦜🔥 ok",
    "🦜",
    "x" * 5000,
    " ".join(f"word{i}" for i in range(1000))[:5000],
    "é" * 5000,
]


def add_user(session: object, email: str) -> str:
    user = User(email=email, password_hash="x")
    session.add(user)  # type: ignore[attr-defined]
    session.flush()  # type: ignore[attr-defined]
    return user.id


def seed(db: Database) -> dict[str, str]:
    """Two users; Alice has two conversations, Bob has the canary."""
    now = datetime.now(UTC)
    with db.session() as s:
        alice, bob = add_user(s, "alice@example.com"), add_user(s, "bob@example.com")
        trip = Conversation(user_id=alice, title="Trip <planning>")
        code = Conversation(user_id=alice, title="Code")
        secret = Conversation(user_id=bob, title="Bob's secrets")
        s.add_all([trip, code, secret])
        s.flush()
        first = ChatMessage(
            conversation_id=trip.id, role="user", content="Where to go in l'été?",
            created_at=now - timedelta(minutes=5),
        )  # fmt: skip
        s.add(first)
        s.flush()
        s.add_all(
            [
                ChatMessage(
                    conversation_id=trip.id, parent_id=first.id, role="assistant",
                    content="Le Café de Flore in Paris is très agréable in summer.",
                    created_at=now - timedelta(minutes=4),
                ),
                ChatMessage(
                    conversation_id=code.id, role="user",
                    content="Python or Rust for a <script>alert('x')</script> parser & co?",
                    created_at=now - timedelta(minutes=3),
                ),
                ChatMessage(
                    conversation_id=code.id, role="assistant",
                    content="Python is quicker to write; Rust runs faster.",
                    created_at=now - timedelta(minutes=2),
                ),
                ChatMessage(
                    conversation_id=secret.id, role="user",
                    content=f"My password hint is {CANARY} python café AND NEAR",
                    created_at=now - timedelta(minutes=1),
                ),
            ]
        )  # fmt: skip
        s.commit()
        return {"alice": alice, "bob": bob, "trip": trip.id, "code": code.id}


def search(db: Database, user_id: str, query: str, **kwargs: int) -> list[SearchHit]:
    with db.session() as s:
        return search_messages(s, user_id, query, **kwargs)


def test_prefixes_match_whole_words_case_insensitively(db: Database) -> None:
    ids = seed(db)
    hits = search(db, ids["alice"], "pyth")
    assert {h.conversation_id for h in hits} == {ids["code"]}
    assert len(hits) == 2
    assert all("<mark>Python</mark>" in h.snippet for h in hits)
    assert search(db, ids["alice"], "PYTHON RUS")[0].conversation_title == "Code"


def test_every_word_must_match(db: Database) -> None:
    ids = seed(db)
    hits = search(db, ids["alice"], "python quicker")
    assert [h.role for h in hits] == ["assistant"]
    assert search(db, ids["alice"], "python paris") == []


def test_accents_are_folded_both_ways(db: Database) -> None:
    ids = seed(db)
    for query in ("cafe", "CAFÉ", "café", "tres agreable", "ete"):
        hits = search(db, ids["alice"], query)
        assert [h.conversation_id for h in hits] == [ids["trip"]], query
    snippet = search(db, ids["alice"], "cafe")[0].snippet
    assert "<mark>Café</mark>" in snippet


def test_snippets_are_escaped_html_with_marks(db: Database) -> None:
    ids = seed(db)
    [hit] = search(db, ids["alice"], "parser")
    assert "<mark>parser</mark>" in hit.snippet
    assert "<script>" not in hit.snippet
    assert "&lt;script&gt;" in hit.snippet
    assert "&amp;" in hit.snippet
    without_marks = hit.snippet.replace("<mark>", "").replace("</mark>", "")
    assert "<" not in without_marks and ">" not in without_marks
    assert hit.conversation_title == "Code"  # data, not HTML: the caller escapes titles


def test_hit_fields(db: Database) -> None:
    ids = seed(db)
    [hit] = search(db, ids["alice"], "flore")
    assert hit.conversation_id == ids["trip"]
    assert hit.conversation_title == "Trip <planning>"
    assert hit.role == "assistant"
    assert hit.created_at.tzinfo is not None
    assert abs(datetime.now(UTC) - hit.created_at) < timedelta(minutes=10)
    with db.session() as s:
        assert s.get(ChatMessage, hit.message_id) is not None


def test_never_another_users_messages(db: Database) -> None:
    ids = seed(db)
    assert [h.snippet for h in search(db, ids["bob"], CANARY[:6])] == [
        f"My password hint is <mark>{CANARY}</mark> python café AND NEAR"
    ]
    for query in [CANARY, CANARY[:4], "password hint", "python", "café", "AND", "NEAR", *HOSTILE]:
        for hit in search(db, ids["alice"], query, limit=100):
            assert CANARY not in hit.snippet
            assert hit.conversation_id in (ids["trip"], ids["code"])
    assert search(db, "no-such-user", "python") == []


def test_hostile_queries_never_raise(db: Database) -> None:
    ids = seed(db)
    for query in HOSTILE:
        assert isinstance(search(db, ids["alice"], query), list), query
        assert isinstance(search(db, ids["bob"], query, limit=5, offset=3), list), query


def test_queries_without_words_find_nothing(db: Database) -> None:
    ids = seed(db)
    for query in ["", "   ", "\n\t", '"*()', "🦜", "_", "\x00"]:
        assert search(db, ids["alice"], query) == [], query


def test_index_follows_updates_and_deletes(db: Database) -> None:
    ids = seed(db)
    with db.session() as s:
        s.execute(
            update(ChatMessage)
            .where(ChatMessage.content.like("Python is quicker%"))
            .values(content="Go compiles quickly.")
        )
        s.commit()
    assert [h.role for h in search(db, ids["alice"], "python")] == ["user"]
    assert len(search(db, ids["alice"], "compiles")) == 1
    with db.session() as s:
        s.execute(delete(Conversation).where(Conversation.id == ids["code"]))
        s.commit()
    assert search(db, ids["alice"], "compiles") == []
    assert search(db, ids["alice"], "python") == []
    with db.session() as s:  # a user's deletion takes their messages out of the index
        s.execute(delete(User).where(User.id == ids["bob"]))
        s.commit()
    assert search(db, ids["bob"], CANARY) == []


def test_limit_and_offset(db: Database) -> None:
    ids = seed(db)
    with db.session() as s:
        conversation = Conversation(user_id=ids["alice"], title="many")
        s.add(conversation)
        s.flush()
        s.add_all(
            ChatMessage(conversation_id=conversation.id, role="user", content=f"banana {i}")
            for i in range(30)
        )
        s.commit()
    assert len(search(db, ids["alice"], "banana")) == 20
    first = search(db, ids["alice"], "banana", limit=10)
    second = search(db, ids["alice"], "banana", limit=10, offset=10)
    assert len(first) == len(second) == 10
    assert not {h.message_id for h in first} & {h.message_id for h in second}
    assert len(search(db, ids["alice"], "banana", limit=1000)) == 30
    assert len(search(db, ids["alice"], "banana", limit=0)) == 1
    assert search(db, ids["alice"], "banana", offset=30) == []


@pytest.mark.parametrize("database_backend", ["sqlite"])
def test_sqlite_index_survives_vacuum(db: Database) -> None:
    ids = seed(db)
    with db.session() as s:
        s.execute(delete(Conversation).where(Conversation.id == ids["trip"]))
        s.commit()
    with db.engine.connect() as conn:
        conn.exec_driver_sql("VACUUM")
        conn.exec_driver_sql("INSERT INTO messages_fts(messages_fts) VALUES ('integrity-check')")
        assert conn.execute(text("SELECT count(*) FROM messages_fts")).scalar() == 3
    assert len(search(db, ids["alice"], "rust")) == 2


def test_search_terms_and_highlight() -> None:
    assert search_terms('"hello" AND wor*ld NEAR(x') == ["hello", "AND", "wor", "ld", "NEAR", "x"]
    assert search_terms("a_b a a") == ["a", "b"]
    assert len(search_terms(" ".join(f"w{i}" for i in range(100)))) == 16
    # markers in the stored text itself can never unbalance or inject tags
    assert highlight("\ue001a<b>\ue000x\ue000y") == "a&lt;b&gt;<mark>xy</mark>"
    assert highlight("'\"&") == "&#x27;&quot;&amp;"


def test_words_inside_markup_urls_and_paths_are_found(db: Database) -> None:
    ids = seed(db)
    with db.session() as s:
        conversation = Conversation(user_id=ids["alice"], title="web")
        s.add(conversation)
        s.flush()
        s.add(
            ChatMessage(
                conversation_id=conversation.id, role="user",
                content="Center a <div class=box> in a<b && c>d? See https://example.com/docs/flexbox"
                " or write to bob@mail.example.org about file_name.py v1.2.3 (e-mail me).",
            )
        )  # fmt: skip
        s.commit()
    for query in ("div", "box", "b c d", "flexbox", "docs", "example", "bob", "mail", "name",
                  "name py", "v1 2 3", "e-mail", "https", "v1"):  # fmt: skip
        hits = search(db, ids["alice"], query)
        assert [h.conversation_id for h in hits] == [conversation.id], query
    [hit] = search(db, ids["alice"], "flexbox")
    assert "<mark>flexbox</mark>" in hit.snippet
    [hit] = search(db, ids["alice"], "div")
    assert "&lt;<mark>div</mark> class=box&gt;" in hit.snippet


@pytest.mark.parametrize("database_backend", ["postgresql"])
def test_postgresql_search_uses_the_gin_index(db: Database) -> None:
    from causerie.store import search as module

    ids = seed(db)
    sql = f"SELECT m.id FROM messages AS m WHERE {module._DOCUMENT} @@ to_tsquery('x:*')"
    with db.engine.connect() as conn:
        conn.execute(text("SET enable_seqscan = off"))
        plan = "\n".join(conn.execute(text("EXPLAIN " + sql)).scalars())
    assert "ix_messages_content_search" in plan, plan
    assert search(db, ids["alice"], "cafe")


def test_make_snippet() -> None:
    from causerie.store.search import make_snippet

    text_ = " ".join(f"w{i}" for i in range(100)) + " Élan <b>&"
    snippet = make_snippet(text_, ["elan"], words=10)
    assert snippet == "…w92 w93 w94 w95 w96 w97 w98 w99 <mark>Élan</mark> &lt;b&gt;&amp;"
    words = ["f"] * 100
    words[10], words[50], words[53] = "apple", "banana", "cherry"
    snippet = make_snippet(" ".join(words), ["cherry", "ban"], words=8)  # most terms win
    assert snippet == "…f f <mark>banana</mark> f f <mark>cherry</mark> f f…"
    snippet = make_snippet(" ".join(words), ["cherry", "apple"], words=8)  # then the first
    assert snippet == "…f f <mark>apple</mark> f f f f f…"
    assert make_snippet("a \ue000 b", ["b"]) == "a \ue000 <mark>b</mark>"
    assert make_snippet("", ["x"]) == ""
    assert make_snippet("no match here", ["zz"]) == "no match here"
