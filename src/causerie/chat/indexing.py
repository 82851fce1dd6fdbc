"""Indexing one queued document, off the request: read its stored file, chunk it, then
store the chunks (and their vectors, when an embedding model is set) a batch at a time,
each batch one short transaction that also records the progress (chunks done / total).

The document is searched only once `ready`. A row deleted or re-queued meanwhile is
noticed at the next batch and the work is dropped; its chunks went (or go) with the row.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Literal

from causerie.chat.uploads import read_chunks, upload_folder
from causerie.chat.vectors import embed_chunks
from causerie.core.errors import InvalidRequestError
from causerie.engine.base import Embedder
from causerie.store.db import Database
from causerie.store.indexing import UNFINISHED, Claimed

log = logging.getLogger("causerie.rag")
INDEX_BATCH = 16
Outcome = Literal["ready", "error", "dropped", "stopped"]


def index_next(
    db: Database,
    data_dir: Path,
    embedder: Embedder | None,
    stop: threading.Event | None = None,
    batch: int = INDEX_BATCH,
) -> tuple[str, Outcome] | None:
    """Claim the oldest queued document and index it; None when none waits."""
    with db.unit() as uow:
        claimed = uow.index_queue.claim()
        uow.commit()
    if claimed is None:
        return None
    return claimed.id, _index(db, data_dir, embedder, claimed, stop, batch)


def index_document(
    db: Database,
    data_dir: Path,
    embedder: Embedder | None,
    document_id: str,
    batch: int = INDEX_BATCH,
) -> Outcome:
    """Index this queued document now, in the caller's thread (the CLI, `Documents.upload`);
    if a server's indexer took it first, wait for that one to finish it."""
    with db.unit() as uow:
        claimed = uow.index_queue.claim_document(document_id)
        uow.commit()
    if claimed is None:
        while True:
            with db.unit() as uow:
                status = uow.index_queue.status(document_id)
            if status not in UNFINISHED:
                return "ready" if status == "ready" else "error" if status else "dropped"
            time.sleep(0.2)
    return _index(db, data_dir, embedder, claimed, None, batch)


def _index(
    db: Database,
    data_dir: Path,
    embedder: Embedder | None,
    claimed: Claimed,
    stop: threading.Event | None,
    batch: int,
) -> Outcome:
    try:
        return index_claimed(db, data_dir, embedder, claimed, stop, batch)
    except Exception:  # an engine or database failure: the row must not stay `indexing`
        log.exception("document %s could not be indexed", claimed.id)
        return _fail(db, claimed, "the document could not be indexed")


def index_claimed(
    db: Database,
    data_dir: Path,
    embedder: Embedder | None,
    doc: Claimed,
    stop: threading.Event | None = None,
    batch: int = INDEX_BATCH,
) -> Outcome:
    try:
        data = (upload_folder(data_dir, doc.user_id) / doc.stored_name).read_bytes()
        _, chunks = read_chunks(doc.filename, data)
    except InvalidRequestError as exc:
        return _fail(db, doc, exc.message)
    except OSError as exc:
        log.warning("document %s: its stored file cannot be read: %s", doc.id, exc)
        return _fail(db, doc, "the stored file cannot be read")
    with db.unit() as uow:
        if not uow.index_queue.start(doc.id, len(chunks), doc.claim):
            return "dropped"
        uow.commit()
    for first in range(0, len(chunks), batch):
        if stop is not None and stop.is_set():  # a clean stop gives the document back
            with db.unit() as uow:
                uow.index_queue.release(doc.id, doc.claim)
                uow.commit()
            return "stopped"
        part = chunks[first : first + batch]
        vectors = embed_chunks(embedder, part) if embedder is not None else None
        with db.unit() as uow:
            ids = uow.index_queue.add_chunks(doc.id, first + len(part), part, doc.claim)
            if not ids:
                return "dropped"
            if embedder is not None and vectors is not None:
                uow.vectors.put(embedder.info.id, list(zip(ids, vectors, strict=True)))
            uow.commit()
    with db.unit() as uow:
        if not uow.index_queue.finish(doc.id, len(chunks), doc.claim):
            return "dropped"
        uow.commit()
    return "ready"


def _fail(db: Database, doc: Claimed, error: str) -> Outcome:
    with db.unit() as uow:
        if not uow.index_queue.fail(doc.id, error, doc.claim):
            return "dropped"
        uow.commit()
    return "error"
