"""`Indexer`: the background worker(s) that index queued documents, owned by the app's
lifespan. The queue is the documents table (nothing is lost on a restart: rows a stopped
process left `indexing`, silent for STALE_AFTER_S, are queued again, at start and while
idle); `poke()` wakes the workers after an upload. Each worker indexes one document at a
time in a thread, so chat stays responsive.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from pathlib import Path

from causerie.chat.indexing import Outcome, index_next
from causerie.engine.base import Embedder
from causerie.store.db import Database
from causerie.store.indexing import UNFINISHED

log = logging.getLogger("causerie.rag")
IDLE_POLL_S = 30.0  # also picks up rows queued by another process sharing the database
# a document `indexing` whose worker wrote nothing for this long was left by a stopped
# process (reading a large PDF before the first batch is the longest silence)
STALE_AFTER_S = 300.0


class Indexer:
    def __init__(
        self, db: Database, data_dir: Path, embedder: Embedder | None = None, workers: int = 1
    ) -> None:
        self.db, self.data_dir, self.embedder = db, data_dir, embedder
        self.workers = max(1, workers)
        self.stale_after = STALE_AFTER_S
        self._stop = threading.Event()
        self._wake: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}

    async def start(self) -> None:
        await self._requeue_stale()
        self._wake = asyncio.Event()
        self._wake.set()  # look at once: documents may be waiting since the last run
        self._tasks = [asyncio.create_task(self._work()) for _ in range(self.workers)]

    async def _requeue_stale(self) -> None:
        def requeue() -> int:
            with self.db.unit() as uow:
                count = uow.index_queue.requeue_unfinished(self.stale_after)
                uow.commit()
                return count

        if requeued := await asyncio.to_thread(requeue):
            log.info("queued again %d documents a stopped server left unindexed", requeued)

    def poke(self) -> None:
        """Something was queued: wake the workers."""
        if self._wake is not None:
            self._wake.set()

    async def wait(self, document_id: str) -> None:
        """Return once the document is no longer queued or indexing (or is gone)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(document_id, []).append(future)
        try:
            while not future.done() and await asyncio.to_thread(self._unfinished, document_id):
                await asyncio.wait({future}, timeout=1.0)  # also sees another process's work
        finally:
            waiting = self._waiters.get(document_id, [])
            if future in waiting:
                waiting.remove(future)
            if not waiting:
                self._waiters.pop(document_id, None)

    async def close(self) -> None:
        self._stop.set()
        self.poke()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        for waiting in self._waiters.values():  # nothing more happens here: stop waiting
            for future in waiting:
                if not future.done():
                    future.set_result(None)

    async def _work(self) -> None:
        assert self._wake is not None
        while not self._stop.is_set():
            self._wake.clear()
            try:
                done = await asyncio.to_thread(
                    index_next, self.db, self.data_dir, self.embedder, self._stop
                )
            except Exception:
                log.exception("indexing a document failed")
                done = None
                await asyncio.sleep(1.0)  # e.g. the database is away: do not spin
            if done is not None:
                self._settled(*done)
                self._wake.set()  # more may wait
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), IDLE_POLL_S)
            except TimeoutError:  # idle: look for documents a dead worker left (a write)
                with contextlib.suppress(Exception):  # best effort; the next poll tries again
                    await self._requeue_stale()

    def _settled(self, document_id: str, outcome: Outcome) -> None:
        log.info("document %s: %s", document_id, outcome)
        for future in self._waiters.pop(document_id, []):
            if not future.done():
                future.set_result(None)

    def _unfinished(self, document_id: str) -> bool:
        with self.db.unit() as uow:
            return uow.index_queue.status(document_id) in UNFINISHED
