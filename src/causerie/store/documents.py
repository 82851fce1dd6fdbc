"""Documents and their chunks, always read through their owner; lexical chunk search.

`search_chunks` puts the owner filter in the retrieval SQL itself (a join on documents),
so no other user's chunk can ever be a candidate. Any word of the query may match (OR,
each a quoted prefix, never query syntax); rows come best first (bm25 / ts_rank).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Float, Integer, String, Text, delete, select, text
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeEngine

from causerie.store.search import MAX_LIMIT, search_terms
from causerie.store.tables import Document, DocumentChunk


class ChunkLike(Protocol):
    @property
    def position(self) -> int: ...
    @property
    def heading(self) -> str: ...
    @property
    def text(self) -> str: ...


@dataclass(frozen=True, slots=True)
class ChunkHit:
    document_id: str
    filename: str
    chunk_id: str
    position: int
    heading: str
    text: str
    score: float  # higher is better, comparable only within one result list


_SQLITE = text(
    """
    SELECT d.id AS document_id, d.filename AS filename, c.id AS chunk_id,
           c.position AS position, c.heading AS heading, c.text AS text,
           -bm25(document_chunks_fts) AS score
    FROM document_chunks_fts
    JOIN document_chunks AS c ON c.rowid = document_chunks_fts.rowid
    JOIN documents AS d ON d.id = c.document_id
    WHERE document_chunks_fts MATCH :query AND d.user_id = :user_id AND d.status = 'ready'
    ORDER BY bm25(document_chunks_fts), d.created_at DESC, c.position
    LIMIT :limit
    """
)

# The expression of the GIN index made by migration 0002, character for character.
_SEPARATORS = "<>&/@.:-_+~?=#"
_DOCUMENT = (
    "to_tsvector('causerie_search'::regconfig,"
    f" translate(c.heading || ' ' || c.text, '{_SEPARATORS}', '{' ' * len(_SEPARATORS)}'))"
)
_POSTGRESQL = text(
    f"""
    SELECT d.id AS document_id, d.filename AS filename, c.id AS chunk_id,
           c.position AS position, c.heading AS heading, c.text AS text,
           ts_rank({_DOCUMENT}, to_tsquery('causerie_search', :query)) AS score
    FROM document_chunks AS c
    JOIN documents AS d ON d.id = c.document_id
    WHERE d.user_id = :user_id AND d.status = 'ready'
      AND {_DOCUMENT} @@ to_tsquery('causerie_search', :query)
    ORDER BY score DESC, d.created_at DESC, c.position
    LIMIT :limit
    """
)

_COLUMNS: dict[str, TypeEngine[Any]] = {
    "document_id": String(),
    "filename": String(),
    "chunk_id": String(),
    "position": Integer(),
    "heading": Text(),
    "text": Text(),
    "score": Float(),
}


class DocumentRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def create(self, user_id: str, **fields: Any) -> Document:
        document = Document(user_id=user_id, **fields)
        self.s.add(document)
        self.s.flush()
        return document

    def get(self, user_id: str, document_id: str) -> Document | None:
        return self.s.scalar(
            select(Document).where(Document.id == document_id, Document.user_id == user_id)
        )

    def owned(self, user_id: str) -> Sequence[Document]:
        return self.s.scalars(
            select(Document)
            .where(Document.user_id == user_id)
            .order_by(Document.created_at.desc(), Document.id)
        ).all()

    def chunks(self, user_id: str, document_id: str) -> Sequence[DocumentChunk]:
        """The chunks of one of the user's documents, in order (none for another's)."""
        return self.s.scalars(
            select(DocumentChunk)
            .join(Document, Document.id == DocumentChunk.document_id)
            .where(DocumentChunk.document_id == document_id, Document.user_id == user_id)
            .order_by(DocumentChunk.position)
        ).all()

    def replace_chunks(self, document: Document, chunks: Iterable[ChunkLike]) -> int:
        """Swap the document's chunks for `chunks`; returns how many it now has."""
        self.s.execute(delete(DocumentChunk).where(DocumentChunk.document_id == document.id))
        rows = [
            DocumentChunk(
                document_id=document.id, position=c.position, heading=c.heading, text=c.text
            )
            for c in chunks
        ]
        self.s.add_all(rows)
        document.chunk_count = len(rows)
        self.s.flush()
        return len(rows)

    def delete(self, document: Document) -> None:
        self.s.execute(delete(DocumentChunk).where(DocumentChunk.document_id == document.id))
        self.s.delete(document)
        self.s.flush()

    def search_chunks(self, user_id: str, query: str, limit: int = 20) -> list[ChunkHit]:
        """The user's chunks that contain any word of `query` (as a prefix), best first."""
        terms = search_terms(query)
        longer = [t for t in terms if len(t) > 1]
        terms = longer or terms
        if not terms:
            return []
        params: dict[str, object] = {"user_id": user_id, "limit": max(1, min(limit, MAX_LIMIT))}
        if self.s.get_bind().dialect.name == "postgresql":
            statement = _POSTGRESQL.columns(**_COLUMNS)
            params["query"] = " | ".join(
                "'" + t.replace("'", "''").replace("\\", "") + "':*" for t in terms
            )
        else:
            statement = _SQLITE.columns(**_COLUMNS)
            params["query"] = " OR ".join('"' + t.replace('"', '""') + '"*' for t in terms)
        rows = self.s.execute(statement, params).mappings().all()
        return [ChunkHit(**row) for row in rows]
