"""Dense vectors for document chunks: made when a document is indexed, and backfilled for
chunks indexed before an embedding model was configured (or under another one).

A chunk is embedded with its heading path, cut to the embedding model's context when
longer (indexing never fails for that; queries are short). Vectors are stored through the
store's `VectorIndex`, tagged with the model's id.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from causerie.engine.base import Embedder
from causerie.store.db import Database

log = logging.getLogger("causerie.rag")
BACKFILL_BATCH = 32
Vectors = npt.NDArray[np.float32]


def embedding_text(heading: str, text: str) -> str:
    return f"{heading}\n\n{text}" if heading else text


class HeadedText(Protocol):
    @property
    def heading(self) -> str: ...
    @property
    def text(self) -> str: ...


def embed_chunks(embedder: Embedder, chunks: Sequence[HeadedText]) -> Vectors:
    """One vector per chunk, in order (done before the transaction that stores them)."""
    if not chunks:
        return np.zeros((0, embedder.dimensions), dtype=np.float32)
    texts = [embedding_text(c.heading, c.text) for c in chunks]
    return embedder.embed_sync(texts, truncate=True).vectors


def backfill(
    db: Database,
    embedder: Embedder,
    stop: threading.Event | None = None,
    batch: int = BACKFILL_BATCH,
) -> int:
    """Embed every ready chunk that has no vector by this model yet; returns how many.
    Works in small transactions so that `stop` (and uploads meanwhile) wait little."""
    done = 0
    model = embedder.info.id
    while stop is None or not stop.is_set():
        with db.unit() as uow:
            pending = uow.vectors.pending(model, batch)
            if not pending:
                break
            texts: Sequence[str] = [embedding_text(p.heading, p.text) for p in pending]
            vectors = embedder.embed_sync(texts, truncate=True).vectors
            uow.vectors.put(model, [(p.chunk_id, v) for p, v in zip(pending, vectors, strict=True)])
            uow.commit()
        done += len(pending)
    if done:
        log.info("embedded %d document chunks with %s", done, model)
    return done
