"""Retrieval for answering: the user's best passages that fit a character budget.

Candidates come from the store's lexical chunk search and, when an embedding model is
configured, its dense vector search, fused by reciprocal rank (owner filter inside the SQL
of both). A matching document small enough to fit whole is given whole, in order, once;
otherwise its matching chunks are given one by one, best first, while they fit.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Literal

from causerie.engine.base import Embedder
from causerie.rag.fusion import reciprocal_rank_fusion
from causerie.store.db import Database
from causerie.store.documents import ChunkHit
from causerie.store.unit import Unit

Mode = Literal["lexical", "dense", "hybrid"]

CANDIDATES = 40
WHOLE_DOCUMENT_CHARS = 6000  # a document at most this long is given whole
OVERLAP_SEARCH = 1000  # how far into a chunk its overlap with the one before may reach


@dataclass(frozen=True, slots=True)
class Passage:
    document_id: str
    filename: str
    heading: str  # heading path of the chunk ("" for a whole document)
    position: int  # chunk position (0 for a whole document)
    text: str
    whole: bool  # the entire document, not one chunk of it


def retrieve(
    db: Database,
    user_id: str,
    query: str,
    budget_chars: int,
    document_ids: Collection[str] | None = None,
    embedder: Embedder | None = None,
) -> list[Passage]:
    """The best passages of `user_id`'s documents for `query`, together within budget.

    With `document_ids`, only those documents are searched, and only those the user may
    read (their own, or in a collection the admin shared): the check is in the SQL."""
    scoped = document_ids is not None
    passages: list[Passage] = []
    left = budget_chars
    whole_done: set[str] = set()
    with db.unit() as uow:
        hits = candidates(uow, user_id, query, embedder, document_ids=document_ids)
        for hit in hits:
            if left <= 0:
                break
            if hit.document_id in whole_done:
                continue
            chunks = uow.documents.chunks(user_id, hit.document_id, shared=scoped)
            full = join_chunks([(c.heading, c.text) for c in chunks])
            if len(full) <= min(left, WHOLE_DOCUMENT_CHARS):
                passages = [p for p in passages if p.document_id != hit.document_id]
                left = budget_chars - sum(len(p.text) for p in passages)
                passages.append(Passage(hit.document_id, hit.filename, "", 0, full, True))
                whole_done.add(hit.document_id)
                left -= len(full)
            elif len(hit.text) <= left:
                passages.append(
                    Passage(
                        hit.document_id, hit.filename, hit.heading, hit.position, hit.text, False
                    )
                )
                left -= len(hit.text)
    return passages


def candidates(
    uow: Unit,
    user_id: str,
    query: str,
    embedder: Embedder | None = None,
    limit: int = CANDIDATES,
    mode: Mode = "hybrid",
    document_ids: Collection[str] | None = None,
) -> list[ChunkHit]:
    """The user's best chunks for `query`: lexical, dense, or both fused (RRF, k=60);
    without an embedder every mode is lexical. Scores of fused hits are RRF scores.
    `document_ids` scopes both searches (see `retrieve`)."""
    if mode == "dense" and embedder is None:
        return []
    lexical = (
        uow.documents.search_chunks(user_id, query, limit, document_ids) if mode != "dense" else []
    )
    if embedder is None or mode == "lexical" or not query.strip():
        return lexical
    vector = embedder.embed_sync([query], truncate=True).vectors[0]
    dense = uow.vectors.search(user_id, embedder.info.id, vector, limit, document_ids)
    if mode == "dense":
        return dense
    by_id = {hit.chunk_id: hit for hit in [*dense, *lexical]}
    fused = reciprocal_rank_fusion([[h.chunk_id for h in lexical], [h.chunk_id for h in dense]])
    return [replace(by_id[chunk_id], score=score) for chunk_id, score in fused[:limit]]


def join_chunks(chunks: list[tuple[str, str]]) -> str:
    """A document's text from its (heading, text) chunks: headings once, overlaps dropped."""
    parts: list[str] = []
    previous_heading, previous_text = None, ""
    for heading, text in chunks:
        shown = text
        if heading != previous_heading:
            if heading:
                parts.append(f"## {heading}")
        else:
            shown = text[carried_length(previous_text, text) :]
        parts.append(shown)
        previous_heading, previous_text = heading, text
    return "\n\n".join(parts)


def carried_length(previous: str, text: str) -> int:
    """How much of `text` (up to a paragraph break) repeats the end of `previous`."""
    best = 0
    start = text.find("\n\n")
    while 0 < start <= OVERLAP_SEARCH:
        if previous.endswith(text[:start]):
            best = start + 2
        start = text.find("\n\n", start + 2)
    return best
