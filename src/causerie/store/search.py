"""Full-text search over one user's own messages: SQLite FTS5 or PostgreSQL tsvector.

The owner filter is part of the SQL itself. User input is never query syntax: it is cut
into words, each quoted and matched as a prefix (all words must match), accents folded.
Snippets are HTML-safe (escaped text, only `<mark>` added): FTS5's snippet(), or on
PostgreSQL cut here, since ts_headline drops anything that looks like markup.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, String, Text, text
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeEngine

MAX_TERMS = 16
MAX_TERM_CHARS = 64
MAX_LIMIT = 100
SNIPPET_WORDS = 24
_OPEN, _CLOSE = "\ue000", "\ue001"  # private-use markers, swapped for <mark> after escaping
_WORD = re.compile(r"[^\W_]+")  # runs of letters and digits, as FTS5's unicode61 sees words

_SQLITE = text(
    f"""
    SELECT c.id AS conversation_id, c.title AS conversation_title, m.id AS message_id,
           m.role AS role, m.created_at AS created_at,
           snippet(messages_fts, 0, '{_OPEN}', '{_CLOSE}', '…', {SNIPPET_WORDS}) AS snippet
    FROM messages_fts
    JOIN messages AS m ON m.rowid = messages_fts.rowid
    JOIN conversations AS c ON c.id = m.conversation_id
    WHERE messages_fts MATCH :query AND c.user_id = :user_id
    ORDER BY bm25(messages_fts), m.created_at DESC, m.id
    LIMIT :limit OFFSET :offset
    """
)

# The expression of the GIN index made by migration 0001, character for character.
_SEPARATORS = "<>&/@.:-_+~?=#"
_DOCUMENT = (
    "to_tsvector('causerie_search'::regconfig,"
    f" translate(m.content, '{_SEPARATORS}', '{' ' * len(_SEPARATORS)}'))"
)
_POSTGRESQL = text(
    f"""
    SELECT c.id AS conversation_id, c.title AS conversation_title, m.id AS message_id,
           m.role AS role, m.created_at AS created_at,
           m.content AS snippet  -- cut by make_snippet()
    FROM messages AS m
    JOIN conversations AS c ON c.id = m.conversation_id
    WHERE c.user_id = :user_id
      AND {_DOCUMENT} @@ to_tsquery('causerie_search', :query)
    ORDER BY ts_rank({_DOCUMENT}, to_tsquery('causerie_search', :query)) DESC,
             m.created_at DESC, m.id
    LIMIT :limit OFFSET :offset
    """
)

_COLUMNS: dict[str, TypeEngine[Any]] = {
    "conversation_id": String(),
    "conversation_title": String(),
    "message_id": String(),
    "role": String(),
    "created_at": DateTime(timezone=True),
    "snippet": Text(),
}


@dataclass(frozen=True, slots=True)
class SearchHit:
    conversation_id: str
    conversation_title: str
    message_id: str
    role: str
    snippet: str  # HTML: escaped text with <mark>…</mark> around the matches
    created_at: datetime


def search_messages(
    session: Session, user_id: str, query: str, limit: int = 20, offset: int = 0
) -> list[SearchHit]:
    """The user's messages that contain every word of `query` (as prefixes), best first."""
    terms = search_terms(query)
    if not terms:
        return []
    params: dict[str, object] = {
        "user_id": user_id,
        "limit": max(1, min(limit, MAX_LIMIT)),
        "offset": max(0, offset),
    }
    postgresql = session.get_bind().dialect.name == "postgresql"
    if postgresql:
        statement = _POSTGRESQL.columns(**_COLUMNS)
        params["query"] = tsquery(terms)
    else:
        statement = _SQLITE.columns(**_COLUMNS)
        params["query"] = fts5_query(terms)
    rows = session.execute(statement, params).mappings().all()
    return [
        SearchHit(
            conversation_id=row["conversation_id"],
            conversation_title=row["conversation_title"],
            message_id=row["message_id"],
            role=row["role"],
            snippet=make_snippet(row["snippet"], terms)
            if postgresql
            else highlight(row["snippet"]),
            created_at=_utc(row["created_at"]),
        )
        for row in rows
    ]


def search_terms(query: str) -> list[str]:
    """The words of a free-text query (letters and digits only; the rest separates)."""
    words = _WORD.findall(unicodedata.normalize("NFC", query))
    unique = dict.fromkeys(word[:MAX_TERM_CHARS] for word in words)
    return list(unique)[:MAX_TERMS]


def fts5_query(terms: list[str]) -> str:
    """`"word"*` for each term: FTS5 strings, never operators, each a prefix, all required."""
    return " ".join('"' + term.replace('"', '""') + '"*' for term in terms)


def tsquery(terms: list[str]) -> str:
    """`'word':* & …` for to_tsquery: each term a quoted lexeme, a prefix, all required."""
    return " & ".join("'" + term.replace("'", "''").replace("\\", "") + "':*" for term in terms)


def highlight(marked: str) -> str:
    """Escape a snippet as HTML, then turn the markers into balanced <mark> tags."""
    parts: list[str] = []
    inside = False
    for piece in re.split(f"([{_OPEN}{_CLOSE}])", marked):
        if piece in (_OPEN, _CLOSE):
            if inside == (piece == _CLOSE):  # a stray marker (from the text itself) is dropped
                parts.append("</mark>" if inside else "<mark>")
                inside = not inside
        else:
            parts.append(html.escape(piece))
    if inside:
        parts.append("</mark>")
    return "".join(parts)


def fold(word: str) -> str:
    """Lower case without diacritics: how both search indexes compare words."""
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def make_snippet(content: str, terms: list[str], words: int = SNIPPET_WORDS) -> str:
    """About `words` words of `content` where most terms match, the matches marked, as HTML."""
    prefixes = [fold(term) for term in terms]
    tokens = list(_WORD.finditer(content))
    found: dict[int, set[int]] = {}  # token index -> the terms it matches
    for i, token in enumerate(tokens):
        word = fold(token.group())
        hits = {n for n, prefix in enumerate(prefixes) if word.startswith(prefix)}
        if hits:
            found[i] = hits
    start = _best_window(found, len(tokens), words)
    end = min(len(tokens), start + words)
    position = tokens[start].start() if start else 0
    stop = tokens[end - 1].end() if end < len(tokens) else len(content)
    parts = ["…"] if start else []
    for i in sorted(i for i in found if start <= i < end):
        token = tokens[i]
        parts += [html.escape(content[position : token.start()]), "<mark>"]
        parts += [html.escape(token.group()), "</mark>"]
        position = token.end()
    parts.append(html.escape(content[position:stop]))
    if end < len(tokens):
        parts.append("…")
    return "".join(parts)


def _best_window(found: dict[int, set[int]], count: int, words: int) -> int:
    """The first token of the window covering the most distinct terms (earliest wins)."""
    best, best_score = 0, 0
    for i in sorted(found)[:200]:
        start = max(0, min(i - words // 4, count - words))
        covered: set[int] = set()
        for k in range(start, start + words):
            covered |= found.get(k, set())
        if len(covered) > best_score:
            best, best_score = start, len(covered)
    return best


def _utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored timestamp is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
