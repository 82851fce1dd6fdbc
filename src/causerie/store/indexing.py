"""The indexing queue is the documents table: `queued` rows wait, `indexing` rows are being
read by a worker. Every write here is a conditional UPDATE that reports whether it hit the
row, so a worker notices at its next step that a document was deleted or re-queued.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from causerie.store.documents import ChunkLike, add_chunks, drop_chunks
from causerie.store.tables import Document, utcnow

UNFINISHED = ("queued", "indexing")


@dataclass(frozen=True, slots=True)
class Claimed:
    id: str
    user_id: str
    filename: str
    stored_name: str
    claim: int  # this claim's number: the worker's writes count only while it is current


def _count(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


class IndexQueue:
    def __init__(self, session: Session) -> None:
        self.s = session

    def claim(self) -> Claimed | None:
        """Move the oldest queued document to `indexing` and return it (None when none
        waits). Two workers never claim the same row: the UPDATE checks it is still queued."""
        while True:
            oldest = self.s.scalar(
                select(Document.id)
                .where(Document.status == "queued")
                .order_by(Document.created_at, Document.id)
                .limit(1)
            )
            if oldest is None:
                return None
            if (claimed := self.claim_document(oldest)) is not None:
                return claimed

    def claim_document(self, document_id: str) -> Claimed | None:
        """Claim this document if it is queued (None if it is not, or someone was first)."""
        row = self.s.execute(
            select(
                Document.id,
                Document.user_id,
                Document.filename,
                Document.stored_name,
                Document.index_claim,
            ).where(Document.id == document_id, Document.status == "queued")
        ).first()
        if row is None:
            return None
        claim = row[4] + 1
        claimed = self._set(
            row[0],
            "queued",
            row[4],
            status="indexing",
            progress_done=0,
            progress_total=0,
            index_heartbeat=utcnow(),
            index_claim=claim,
        )
        return Claimed(row[0], row[1], row[2], row[3], claim) if claimed else None

    def requeue_unfinished(self, stale_after: float = 0.0) -> int:
        """Documents a stopped process left `indexing` wait again: those whose worker has
        written nothing for `stale_after` seconds (a live worker writes every batch)."""
        before = utcnow() - timedelta(seconds=stale_after)
        return _count(
            self.s.execute(
                update(Document)
                .where(
                    Document.status == "indexing",
                    or_(Document.index_heartbeat.is_(None), Document.index_heartbeat <= before),
                )
                .values(status="queued", progress_done=0, progress_total=0)
                .execution_options(synchronize_session=False)
            )
        )

    def release(self, document_id: str, claim: int | None = None) -> bool:
        """A worker that stops gives its document back to the queue (from the start)."""
        return self._set(document_id, "indexing", claim, status="queued", progress_done=0)

    def status(self, document_id: str) -> str | None:
        return self.s.scalar(select(Document.status).where(Document.id == document_id))

    def start(self, document_id: str, total: int, claim: int | None = None) -> bool:
        """Drop any chunks of an earlier reading and set the total; False when the row is
        gone, no longer `indexing`, or claimed again since `claim` (by another worker).
        Every write below takes the same `claim` (None: no claim check, for tests)."""
        if not self._set(
            document_id,
            "indexing",
            claim,
            progress_done=0,
            progress_total=total,
            index_heartbeat=utcnow(),
        ):
            return False
        drop_chunks(self.s, document_id)
        return True

    def add_chunks(
        self, document_id: str, done: int, chunks: Iterable[ChunkLike], claim: int | None = None
    ) -> list[str]:
        """Store the next chunks (ids in order) and the progress; [] when the row is gone
        or no longer `indexing` (nothing is written then)."""
        if not self._set(
            document_id, "indexing", claim, progress_done=done, index_heartbeat=utcnow()
        ):
            return []
        return add_chunks(self.s, document_id, chunks)

    def finish(self, document_id: str, chunk_count: int, claim: int | None = None) -> bool:
        return self._set(
            document_id, "indexing", claim, status="ready", error=None, chunk_count=chunk_count
        )

    def fail(self, document_id: str, error: str, claim: int | None = None) -> bool:
        if not self._set(
            document_id,
            "indexing",
            claim,
            status="error",
            error=error,
            chunk_count=0,
            progress_done=0,
        ):
            return False
        drop_chunks(self.s, document_id)
        return True

    def _set(self, document_id: str, expected: str, claim: int | None, **values: Any) -> bool:
        current = [Document.index_claim == claim] if claim is not None else []
        result = self.s.execute(
            update(Document)
            .where(Document.id == document_id, Document.status == expected, *current)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return _count(result) == 1
