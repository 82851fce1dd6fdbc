"""Documents and their chunks, always read through their owner; lexical chunk search.

`search_chunks` puts the owner filter in the retrieval SQL itself (a join on documents),
so no other user's chunk can ever be a candidate. Any word of the query may match (OR,
each a quoted prefix, never query syntax); rows come best first (bm25 / ts_rank).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Float, Integer, String, Text, bindparam, delete, exists, or_, select, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.types import TypeEngine

from causerie.store.search import MAX_LIMIT, search_terms
from causerie.store.tables import (
    CollectionDocument,
    Document,
    DocumentChunk,
    KnowledgeCollection,
)


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


# Whose chunks may be candidates: the user's own documents, or (with a scope of document
# ids) those of them that are the user's own or in a collection the admin shared.
_OWN = "d.user_id = :user_id"
_SCOPED = (
    "d.id IN :document_ids AND (d.user_id = :user_id OR EXISTS ("
    "SELECT 1 FROM collection_documents AS cd JOIN collections AS k ON k.id = cd.collection_id"
    " WHERE cd.document_id = d.id AND k.shared))"
)

_SQLITE = """
    SELECT d.id AS document_id, d.filename AS filename, c.id AS chunk_id,
           c.position AS position, c.heading AS heading, c.text AS text,
           -bm25(document_chunks_fts) AS score
    FROM document_chunks_fts
    JOIN document_chunks AS c ON c.rowid = document_chunks_fts.rowid
    JOIN documents AS d ON d.id = c.document_id
    WHERE document_chunks_fts MATCH :query AND {scope} AND d.status = 'ready'
    ORDER BY bm25(document_chunks_fts), d.created_at DESC, c.position
    LIMIT :limit
    """

# The expression of the GIN index made by migration 0002, character for character.
_SEPARATORS = "<>&/@.:-_+~?=#"
_DOCUMENT = (
    "to_tsvector('causerie_search'::regconfig,"
    f" translate(c.heading || ' ' || c.text, '{_SEPARATORS}', '{' ' * len(_SEPARATORS)}'))"
)
_POSTGRESQL = f"""
    SELECT d.id AS document_id, d.filename AS filename, c.id AS chunk_id,
           c.position AS position, c.heading AS heading, c.text AS text,
           ts_rank({_DOCUMENT}, to_tsquery('causerie_search', :query)) AS score
    FROM document_chunks AS c
    JOIN documents AS d ON d.id = c.document_id
    WHERE {{scope}} AND d.status = 'ready'
      AND {_DOCUMENT} @@ to_tsquery('causerie_search', :query)
    ORDER BY score DESC, d.created_at DESC, c.position
    LIMIT :limit
    """


def _statement(template: str, scoped: bool) -> TextClause:
    statement = text(template.format(scope=_SCOPED if scoped else _OWN))
    if scoped:
        statement = statement.bindparams(bindparam("document_ids", expanding=True))
    return statement


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

    def chunks(
        self, user_id: str, document_id: str, *, shared: bool = False
    ) -> Sequence[DocumentChunk]:
        """The chunks of one of the user's documents, in order (none for another's); with
        `shared`, also of a document in a collection the admin shared."""
        readable = Document.user_id == user_id
        if shared:
            readable = or_(readable, in_shared_collection())
        return self.s.scalars(
            select(DocumentChunk)
            .join(Document, Document.id == DocumentChunk.document_id)
            .where(DocumentChunk.document_id == document_id, readable)
            .order_by(DocumentChunk.position)
        ).all()

    def replace_chunks(self, document: Document, chunks: Iterable[ChunkLike]) -> int:
        """Swap the document's chunks for `chunks`; returns how many it now has."""
        drop_chunks(self.s, document.id)
        document.chunk_count = len(add_chunks(self.s, document.id, chunks))
        return document.chunk_count

    def delete(self, document: Document) -> None:
        drop_chunks(self.s, document.id)
        self.s.delete(document)
        self.s.flush()

    def search_chunks(
        self,
        user_id: str,
        query: str,
        limit: int = 20,
        document_ids: Collection[str] | None = None,
    ) -> list[ChunkHit]:
        """The user's chunks that contain any word of `query` (as a prefix), best first.
        With `document_ids`, only chunks of those documents that the user may read (their
        own, or in a shared collection)."""
        scoped = document_ids is not None
        if scoped and not document_ids:
            return []
        terms = search_terms(query)
        longer = [t for t in terms if len(t) > 1]
        terms = longer or terms
        if not terms:
            return []
        params: dict[str, object] = {"user_id": user_id, "limit": max(1, min(limit, MAX_LIMIT))}
        if scoped:
            params["document_ids"] = sorted(document_ids or ())
        if self.s.get_bind().dialect.name == "postgresql":
            statement = _statement(_POSTGRESQL, scoped).columns(**_COLUMNS)
            params["query"] = " | ".join(
                "'" + t.replace("'", "''").replace("\\", "") + "':*" for t in terms
            )
        else:
            statement = _statement(_SQLITE, scoped).columns(**_COLUMNS)
            params["query"] = " OR ".join('"' + t.replace('"', '""') + '"*' for t in terms)
        rows = self.s.execute(statement, params).mappings().all()
        return [ChunkHit(**row) for row in rows]


def drop_chunks(session: Session, document_id: str) -> None:
    session.execute(delete(DocumentChunk).where(DocumentChunk.document_id == document_id))


def add_chunks(session: Session, document_id: str, chunks: Iterable[ChunkLike]) -> list[str]:
    """Store `chunks` for the document; their ids, in order."""
    rows = [
        DocumentChunk(document_id=document_id, position=c.position, heading=c.heading, text=c.text)
        for c in chunks
    ]
    session.add_all(rows)
    session.flush()
    return [r.id for r in rows]


def in_shared_collection() -> Any:
    """SQL: the document (`Document.id`) is in a collection the admin shared."""
    return exists(
        select(CollectionDocument.document_id)
        .join(KnowledgeCollection, KnowledgeCollection.id == CollectionDocument.collection_id)
        .where(CollectionDocument.document_id == Document.id, KnowledgeCollection.shared.is_(True))
    )
