"""The document repository on SQLite and PostgreSQL: owner filter inside the chunk
search, any-word prefix matching, user text never query syntax, the GIN index used."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import text

from causerie.store.db import Database


@dataclass(frozen=True)
class Piece:
    position: int
    heading: str
    text: str


def add_user(db: Database, email: str) -> str:
    with db.unit() as uow:
        user = uow.users.add(email=email, password_hash="x")
        uow.commit()
        return user.id


def add_document(db: Database, user_id: str, *texts: str, status: str = "ready") -> str:
    with db.unit() as uow:
        doc = uow.documents.create(
            user_id, filename="f.txt", mime="text/plain", size=1, sha256="0" * 64,
            stored_name="x.txt", status=status, chunk_count=0,
        )  # fmt: skip
        uow.documents.replace_chunks(doc, [Piece(i, "Head", t) for i, t in enumerate(texts)])
        uow.commit()
        return doc.id


def search(db: Database, user_id: str, query: str) -> list[str]:
    with db.unit() as uow:
        return [hit.text for hit in uow.documents.search_chunks(user_id, query, 10)]


def test_search_is_owned_any_word_and_ranked(db: Database) -> None:
    alice, bob = add_user(db, "a@example.org"), add_user(db, "b@example.org")
    add_document(db, alice, "Crème brûlée recipe", "volcanic basalt and crème", "nothing")
    add_document(db, bob, "bob's private crème canary")
    assert search(db, alice, "creme basalt") == ["volcanic basalt and crème", "Crème brûlée recipe"]
    assert search(db, alice, "canary") == []
    assert search(db, bob, "crème") == ["bob's private crème canary"]
    assert search(db, alice, "head") != []  # headings are searchable too
    add_document(db, alice, "hidden broken zither", status="error")
    assert search(db, alice, "zither") == []


@pytest.mark.parametrize(
    "query", ['"', "NEAR(a b)", "a OR b*", "'); DROP TABLE documents; --", "x:* | !y", "\\", ""]
)
def test_user_text_is_never_query_syntax(db: Database, query: str) -> None:
    alice = add_user(db, "q@example.org")
    add_document(db, alice, "documents table drop near")
    search(db, alice, query)  # no error, whatever it finds
    assert search(db, alice, "documents") == ["documents table drop near"]


def test_replace_and_delete_keep_the_index_in_step(db: Database) -> None:
    alice = add_user(db, "r@example.org")
    doc_id = add_document(db, alice, "old quokka text")
    with db.unit() as uow:
        doc = uow.documents.get(alice, doc_id)
        assert doc is not None
        assert uow.documents.replace_chunks(doc, [Piece(0, "", "new wombat text")]) == 1
        uow.commit()
    assert search(db, alice, "quokka") == [] and search(db, alice, "wombat") != []
    with db.unit() as uow:
        doc = uow.documents.get(alice, doc_id)
        assert doc is not None and uow.documents.get("someone-else", doc_id) is None
        uow.documents.delete(doc)
        uow.commit()
    assert search(db, alice, "wombat") == []


def test_postgresql_uses_the_gin_index(db: Database) -> None:
    if db.dialect != "postgresql":
        pytest.skip("PostgreSQL only")
    from causerie.store.documents import _DOCUMENT  # the expression the search uses

    with db.engine.connect() as conn:
        conn.execute(text("SET enable_seqscan = off"))
        plan = conn.execute(
            text(
                f"EXPLAIN SELECT c.id FROM document_chunks AS c"
                f" WHERE {_DOCUMENT} @@ to_tsquery('causerie_search', :query)"
            ),
            {"query": "'x':*"},
        ).scalars()
        assert "ix_document_chunks_text_search" in "\n".join(plan)
