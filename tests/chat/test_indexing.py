"""Background indexing with the real all-MiniLM-L6-v2 on SQLite and PostgreSQL: a queued
upload is read batch by batch with progress and vectors, a re-index cannot be queued twice,
a delete in the middle drops the work (no chunk, vector or file left), a stop leaves the
row to be queued again, and the `Indexer` re-queues and indexes at start."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from causerie.chat.documents import Documents
from causerie.chat.indexer import STALE_AFTER_S, Indexer
from causerie.chat.indexing import index_next
from causerie.core.errors import ConflictError
from causerie.engine.embedding_models import MINILM_ID
from causerie.engine.llamacpp.embedder import LlamaEmbedder
from causerie.store.db import Database
from causerie.store.tables import ChunkVector, DocumentChunk
from tests.store.test_document_search import add_user

LONG = "\n\n".join(f"Paragraph {i} about the quillwort marsh. " * 12 for i in range(40)).encode()


@pytest.fixture(scope="module")
def embedder(minilm_gguf: Path) -> Iterator[LlamaEmbedder]:
    model = LlamaEmbedder(minilm_gguf, MINILM_ID, threads=2)
    model.load()
    yield model


class Watching:
    """The real embedder, plus a hook run before each batch (to act mid-indexing)."""

    def __init__(self, inner: LlamaEmbedder, hook: Any) -> None:
        self.inner, self.hook, self.calls = inner, hook, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def embed_sync(self, inputs: Sequence[str], *, truncate: bool = False) -> Any:
        self.calls += 1
        self.hook(self.calls)
        return self.inner.embed_sync(inputs, truncate=truncate)


def counts(db: Database, document_id: str) -> tuple[int, int]:
    with db.unit() as uow:
        chunks = uow.session.scalar(
            select(func.count()).where(DocumentChunk.document_id == document_id)
        )
        vectors = uow.session.scalar(
            select(func.count())
            .select_from(ChunkVector)
            .join(DocumentChunk, DocumentChunk.id == ChunkVector.chunk_id)
            .where(DocumentChunk.document_id == document_id)
        )
        return int(chunks or 0), int(vectors or 0)


def test_queued_upload_is_indexed_with_progress_and_vectors(
    db: Database, tmp_path: Path, embedder: LlamaEmbedder
) -> None:
    alice = add_user(db, "alice@example.org")
    docs = Documents(db, tmp_path, alice)
    queued = docs.queue_upload("marsh.md", LONG)
    assert (queued.status, queued.progress_done, queued.progress_total) == ("queued", 0, 0)
    with pytest.raises(ConflictError):
        docs.queue_reindex(queued.id)
    seen: list[tuple[str, int, int]] = []

    def look(_: int) -> None:
        view = docs.get(queued.id)
        seen.append((view.status, view.progress_done, view.progress_total))

    assert index_next(db, tmp_path, Watching(embedder, look), batch=4) == (queued.id, "ready")  # type: ignore[arg-type]
    done = docs.get(queued.id)
    assert done.status == "ready" and done.chunk_count > 8
    assert done.progress_done == done.progress_total == done.chunk_count
    assert seen[0] == ("indexing", 0, done.chunk_count)
    assert [s[1] for s in seen] == list(range(0, done.chunk_count, 4))  # one step a batch
    assert counts(db, queued.id) == (done.chunk_count, done.chunk_count)
    assert index_next(db, tmp_path, embedder) is None  # nothing else waits
    again = docs.queue_reindex(queued.id)
    assert again.status == "queued" and again.progress_total == 0
    assert index_next(db, tmp_path, embedder) == (queued.id, "ready")
    assert counts(db, queued.id) == (done.chunk_count, done.chunk_count)  # replaced, not added


def test_delete_mid_indexing_drops_the_work(
    db: Database, tmp_path: Path, embedder: LlamaEmbedder
) -> None:
    bob = add_user(db, "bob@example.org")
    docs = Documents(db, tmp_path, bob)
    queued = docs.queue_upload("marsh.md", LONG)

    def delete_at_third_batch(calls: int) -> None:
        if calls == 3:
            docs.delete(queued.id)

    watching = Watching(embedder, delete_at_third_batch)
    assert index_next(db, tmp_path, watching, batch=4) == (queued.id, "dropped")  # type: ignore[arg-type]
    assert watching.calls == 3  # it stopped at once
    assert counts(db, queued.id) == (0, 0)
    assert list((tmp_path / "uploads" / bob).iterdir()) == []


def test_errors_stop_and_indexer_requeues_at_start(db: Database, tmp_path: Path) -> None:
    carol = add_user(db, "carol@example.org")
    docs = Documents(db, tmp_path, carol)
    blank = docs.queue_upload("blank.txt", b"  \n\n\t \n")
    assert index_next(db, tmp_path, None) == (blank.id, "error")
    failed = docs.get(blank.id)
    assert failed.status == "error" and failed.error and "no text" in failed.error
    marsh = docs.queue_upload("marsh.md", LONG)
    stop = threading.Event()
    stop.set()
    assert index_next(db, tmp_path, None, stop) == (marsh.id, "stopped")
    assert docs.get(marsh.id).status == "queued"  # a clean stop gives it back
    with db.unit() as uow:  # as a killed server leaves it: `indexing`, its worker fresh
        row = uow.documents.get(carol, marsh.id)
        assert row is not None
        row.status, row.index_heartbeat = "indexing", datetime.now(UTC)
        uow.commit()

    async def start_stop() -> None:  # its worker wrote just now: it may be alive elsewhere
        indexer = Indexer(db, tmp_path)
        await indexer.start()
        await indexer.close()

    asyncio.run(start_stop())
    assert docs.get(marsh.id).status == "indexing"
    with db.unit() as uow:  # ... and silent for long: it is not
        row = uow.documents.get(carol, marsh.id)
        assert row is not None
        row.index_heartbeat = datetime.now(UTC) - timedelta(seconds=STALE_AFTER_S + 1)
        uow.commit()

    async def restart() -> None:
        indexer = Indexer(db, tmp_path)
        await indexer.start()
        try:
            await asyncio.wait_for(indexer.wait(marsh.id), 30)
        finally:
            await indexer.close()

    asyncio.run(restart())
    ready = docs.get(marsh.id)
    assert ready.status == "ready" and ready.progress_done == ready.chunk_count > 0
