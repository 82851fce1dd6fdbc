"""Dense chunk vectors: store them, find chunks without one, and search one user's.

`VectorIndex` is the narrow interface retrieval uses. Both indexes keep float32 blobs in
`chunk_vectors` and search exactly, the owner filter inside the SQL. `SqliteVecIndex` (SQLite
with sqlite-vec loaded, see db.py) ranks in SQL with `vec_distance_cosine`; `BlobVectorIndex`
(PostgreSQL, and SQLite without sqlite-vec) scores the candidates in numpy. pgvector is not
used: it is a server extension that not every PostgreSQL has, and the blobs work everywhere.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt
from sqlalchemy import ColumnElement, and_, delete, func, literal, or_, select
from sqlalchemy.orm import Session

from causerie.store.documents import ChunkHit, in_shared_collection
from causerie.store.tables import ChunkVector, Document, DocumentChunk

Vector = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class PendingChunk:
    chunk_id: str
    heading: str
    text: str


class VectorIndex(Protocol):
    def put(self, model: str, vectors: Sequence[tuple[str, Vector]]) -> None:
        """Store (chunk_id, vector) pairs made by `model`, replacing any older vector."""

    def pending(self, model: str, limit: int) -> list[PendingChunk]:
        """Chunks of ready documents (any owner) that have no vector by `model` yet."""

    def search(
        self,
        user_id: str,
        model: str,
        query: Vector,
        limit: int,
        document_ids: Collection[str] | None = None,
    ) -> list[ChunkHit]:
        """The user's chunks nearest to `query` (cosine), best first. With `document_ids`,
        only those documents, and only those the user may read (own, or in a shared
        collection), as in the lexical search."""


def _as_blob(vector: Vector) -> bytes:
    return np.ascontiguousarray(vector, dtype="<f4").tobytes()


def _readable(user_id: str, document_ids: Collection[str] | None) -> ColumnElement[bool]:
    """Unscoped: the user's own documents; scoped: those of the ids that are the user's
    own or in a shared collection."""
    if document_ids is None:
        return Document.user_id == user_id
    return and_(
        Document.id.in_(list(document_ids)),
        or_(Document.user_id == user_id, in_shared_collection()),
    )


class BlobVectorIndex:
    def __init__(self, session: Session) -> None:
        self.s = session

    def put(self, model: str, vectors: Sequence[tuple[str, Vector]]) -> None:
        if not vectors:
            return
        ids = [chunk_id for chunk_id, _ in vectors]
        self.s.execute(delete(ChunkVector).where(ChunkVector.chunk_id.in_(ids)))
        self.s.add_all(
            ChunkVector(chunk_id=chunk_id, model=model, dimensions=len(v), vector=_as_blob(v))
            for chunk_id, v in vectors
        )
        self.s.flush()

    def pending(self, model: str, limit: int) -> list[PendingChunk]:
        rows = self.s.execute(
            select(DocumentChunk.id, DocumentChunk.heading, DocumentChunk.text)
            .join(Document, Document.id == DocumentChunk.document_id)
            .outerjoin(
                ChunkVector,
                and_(ChunkVector.chunk_id == DocumentChunk.id, ChunkVector.model == model),
            )
            .where(Document.status == "ready", ChunkVector.chunk_id.is_(None))
            .order_by(DocumentChunk.document_id, DocumentChunk.position)
            .limit(limit)
        ).all()
        return [PendingChunk(chunk_id, heading, text) for chunk_id, heading, text in rows]

    def search(
        self,
        user_id: str,
        model: str,
        query: Vector,
        limit: int,
        document_ids: Collection[str] | None = None,
    ) -> list[ChunkHit]:
        if document_ids is not None and not document_ids:
            return []
        rows = self.s.execute(
            select(ChunkVector.chunk_id, ChunkVector.vector)
            .join(DocumentChunk, DocumentChunk.id == ChunkVector.chunk_id)
            .join(Document, Document.id == DocumentChunk.document_id)
            .where(
                _readable(user_id, document_ids),
                Document.status == "ready",
                ChunkVector.model == model,
                ChunkVector.dimensions == len(query),
            )
        ).all()
        if not rows or limit <= 0:
            return []
        matrix = np.frombuffer(b"".join(blob for _, blob in rows), dtype="<f4")
        scores = matrix.reshape(len(rows), len(query)) @ np.asarray(query, dtype=np.float32)
        best = np.argsort(-scores, kind="stable")[:limit]
        score_of = {rows[i][0]: float(scores[i]) for i in best}
        found = self.s.execute(
            select(
                Document.id,
                Document.filename,
                DocumentChunk.id,
                DocumentChunk.position,
                DocumentChunk.heading,
                DocumentChunk.text,
            )
            .select_from(DocumentChunk)
            .join(Document, Document.id == DocumentChunk.document_id)
            .where(DocumentChunk.id.in_(list(score_of)), _readable(user_id, document_ids))
        ).all()
        hits = [ChunkHit(*row, score=score_of[row[2]]) for row in found]
        return sorted(hits, key=lambda h: (-h.score, h.document_id, h.position))


class SqliteVecIndex(BlobVectorIndex):
    """The same rows as `BlobVectorIndex`, ranked by sqlite-vec inside one query (score =
    1 - cosine distance); only on connections that loaded sqlite-vec."""

    def search(
        self,
        user_id: str,
        model: str,
        query: Vector,
        limit: int,
        document_ids: Collection[str] | None = None,
    ) -> list[ChunkHit]:
        if (document_ids is not None and not document_ids) or limit <= 0:
            return []
        cosine = func.vec_distance_cosine(ChunkVector.vector, literal(_as_blob(query)))
        distance = func.coalesce(cosine, 1.0).label("distance")  # NULL: a zero vector
        rows = self.s.execute(
            select(
                Document.id,
                Document.filename,
                DocumentChunk.id,
                DocumentChunk.position,
                DocumentChunk.heading,
                DocumentChunk.text,
                distance,
            )
            .select_from(ChunkVector)
            .join(DocumentChunk, DocumentChunk.id == ChunkVector.chunk_id)
            .join(Document, Document.id == DocumentChunk.document_id)
            .where(
                _readable(user_id, document_ids),
                Document.status == "ready",
                ChunkVector.model == model,
                ChunkVector.dimensions == len(query),
            )
            .order_by(distance, Document.id, DocumentChunk.position)
            .limit(limit)
        ).all()
        return [
            ChunkHit(doc_id, filename, chunk_id, position, heading, text, 1.0 - float(distance))
            for doc_id, filename, chunk_id, position, heading, text, distance in rows
        ]
