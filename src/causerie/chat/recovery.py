"""Start-up repair: answers left `streaming` by a killed process become `interrupted`."""

from __future__ import annotations

import logging

from causerie.store.db import Database

log = logging.getLogger("causerie.chat")


def recover_interrupted(db: Database) -> int:
    with db.unit() as uow:
        count = uow.messages.interrupt_streaming("the server stopped while answering")
        uow.commit()
    if count:
        log.warning("marked %d answer(s) left streaming by a previous run as interrupted", count)
    return count
