"""Repair of answers left `streaming` by a process that died: they become `interrupted`.

Several app processes may share one database, and a live process writes an answer's
progress every `SAVE_EVERY`, so only answers that stopped progressing are repaired: at
start-up, those with no progress write during a short watch; then, every `RECOVER_EVERY`
seconds, those whose last write is older than `STALE_AFTER`. An answer wrongly caught
(waiting long for its first token) turns `streaming` again at its next write.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta

from causerie.store.db import Database

log = logging.getLogger("causerie.chat")
REASON = "the server stopped while answering"
STALE_AFTER = 30.0  # seconds without a progress write: the answering process is gone
RECOVER_EVERY = 15.0
START_WATCH = 1.5  # seconds to watch answers for progress at start-up (3 × SAVE_EVERY)


def _progress(db: Database) -> dict[str, tuple[datetime, int]]:
    with db.unit() as uow:
        return {mid: (created, ms) for mid, created, ms in uow.messages.streaming()}


def _interrupt(db: Database, ids: list[str]) -> int:
    if not ids:
        return 0
    with db.unit() as uow:
        count = uow.messages.interrupt_streaming(REASON, ids)
        uow.commit()
    if count:
        log.warning("marked %d answer(s) left streaming by a stopped process as interrupted", count)
    return count


def recover_interrupted(db: Database, stale_after: float = STALE_AFTER) -> int:
    """Interrupt answers whose last progress write is older than `stale_after` seconds."""
    cutoff = datetime.now(UTC) - timedelta(seconds=stale_after)
    stale = [
        mid
        for mid, (created, ms) in _progress(db).items()
        if created + timedelta(milliseconds=ms) < cutoff
    ]
    return _interrupt(db, stale)


def recover_at_start(db: Database, watch: float = START_WATCH) -> int:
    """Interrupt answers that make no progress while we watch (blocking, for start-up)."""
    before = _progress(db)
    if not before:
        return 0
    time.sleep(watch)
    after = _progress(db)
    return _interrupt(db, [mid for mid, seen in before.items() if after.get(mid) == seen])


async def keep_recovering(
    db: Database, every: float = RECOVER_EVERY, stale_after: float = STALE_AFTER
) -> None:
    """Run `recover_interrupted` forever (cancel the task to stop)."""
    while True:
        await asyncio.sleep(every)
        try:
            await asyncio.to_thread(recover_interrupted, db, stale_after)
        except Exception:  # a database hiccup must not end the loop
            log.exception("recovering interrupted answers failed")
