"""Repair of answers left `streaming` by a process that died: they become `interrupted`.

Several app processes may share one database, so only answers whose last progress write
is older than `STALE_AFTER` are repaired (a live process writes every `SAVE_EVERY`); every
process runs the repair at start-up and every `RECOVER_EVERY` seconds.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from causerie.store.db import Database

log = logging.getLogger("causerie.chat")
STALE_AFTER = 30.0  # seconds without a progress write: the answering process is gone
RECOVER_EVERY = 15.0


def recover_interrupted(db: Database, stale_after: float = STALE_AFTER) -> int:
    cutoff = datetime.now(UTC) - timedelta(seconds=stale_after)
    with db.unit() as uow:
        count = uow.messages.interrupt_streaming("the server stopped while answering", cutoff)
        uow.commit()
    if count:
        log.warning("marked %d answer(s) left streaming by a stopped process as interrupted", count)
    return count


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
