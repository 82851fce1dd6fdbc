"""Chunk vectors on SQLite and PostgreSQL: exact cosine search inside the owner's ready
documents, one vector per chunk and model, pending chunks for the backfill, and vectors
gone with their chunks."""

from __future__ import annotations

import numpy as np
from sqlalchemy import text

from causerie.store.db import Database
from tests.store.test_document_search import add_document, add_user

MODEL = "test-model"


def unit(*values: float) -> np.ndarray:
    v = np.array(values, dtype=np.float32)
    return v / np.linalg.norm(v)


def chunk_ids(db: Database, user_id: str, document_id: str) -> list[str]:
    with db.unit() as uow:
        return [c.id for c in uow.documents.chunks(user_id, document_id)]


def put(db: Database, model: str, pairs: list[tuple[str, np.ndarray]]) -> None:
    with db.unit() as uow:
        uow.vectors.put(model, pairs)
        uow.commit()


def search(db: Database, user_id: str, query: np.ndarray, model: str = MODEL) -> list[str]:
    with db.unit() as uow:
        return [h.text for h in uow.vectors.search(user_id, model, query, 10)]


def test_search_is_exact_owned_and_ranked(db: Database) -> None:
    alice, bob = add_user(db, "a@example.org"), add_user(db, "b@example.org")
    doc = add_document(db, alice, "north", "east", "north-east")
    other = add_document(db, bob, "bob's canary, due north")
    broken = add_document(db, alice, "broken north", status="error")
    n, e, ne = chunk_ids(db, alice, doc)
    put(db, MODEL, [(n, unit(1, 0, 0)), (e, unit(0, 1, 0)), (ne, unit(1, 1, 0))])
    put(db, MODEL, [(chunk_ids(db, bob, other)[0], unit(1, 0, 0))])
    put(db, MODEL, [(chunk_ids(db, alice, broken)[0], unit(1, 0, 0))])
    assert search(db, alice, unit(1, 0.1, 0)) == ["north", "north-east", "east"]
    with db.unit() as uow:
        hits = uow.vectors.search(alice, MODEL, unit(1, 0, 0), 1)
    assert [h.text for h in hits] == ["north"] and abs(hits[0].score - 1) < 1e-6
    assert hits[0].document_id == doc and hits[0].filename == "f.txt" and hits[0].heading == "Head"
    assert search(db, bob, unit(1, 0, 0)) == ["bob's canary, due north"]
    assert search(db, alice, unit(1, 0, 0), model="other-model") == []
    assert search(db, alice, unit(1, 0, 0, 0)) == []  # other dimensions: not comparable


def test_pending_put_replaces_and_vectors_follow_chunks(db: Database) -> None:
    alice = add_user(db, "p@example.org")
    doc = add_document(db, alice, "one", "two")
    add_document(db, alice, "not ready", status="error")
    first, second = chunk_ids(db, alice, doc)
    with db.unit() as uow:
        assert [p.text for p in uow.vectors.pending(MODEL, 10)] == ["one", "two"]
        assert uow.vectors.pending(MODEL, 1)[0].heading == "Head"
    put(db, MODEL, [(first, unit(1, 0))])
    with db.unit() as uow:
        assert [p.chunk_id for p in uow.vectors.pending(MODEL, 10)] == [second]
        assert len(uow.vectors.pending("new-model", 10)) == 2
    put(db, "new-model", [(first, unit(0, 1))])  # one vector per chunk: the newest model's
    assert search(db, alice, unit(1, 0)) == []
    assert search(db, alice, unit(0, 1), model="new-model") == ["one"]
    with db.unit() as uow:
        document = uow.documents.get(alice, doc)
        assert document is not None
        uow.documents.replace_chunks(document, [])
        uow.commit()
    assert search(db, alice, unit(0, 1), model="new-model") == []
    with db.unit() as uow:
        count = uow.session.execute(text("SELECT count(*) FROM chunk_vectors")).scalar_one()
    assert count == 0  # gone with their chunks (ON DELETE CASCADE)
