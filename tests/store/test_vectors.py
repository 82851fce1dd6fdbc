"""Chunk vectors on SQLite (sqlite-vec, and plain) and PostgreSQL: exact cosine search
inside the owner's ready documents (or scoped to own and shared ones), the same ranking
from every index, one vector per chunk and model, pending chunks for the backfill, and
vectors gone with their chunks."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from sqlalchemy import text

from causerie.store.db import Database
from causerie.store.vectors import BlobVectorIndex, SqliteVecIndex, VectorIndex
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


@pytest.fixture
def databases(db: Database) -> Iterator[list[Database]]:
    """The test's database; on SQLite, also the same file opened on the stdlib sqlite3."""
    if db.dialect != "sqlite":
        yield [db]
        return
    plain = Database(db.url, sqlite_vec=False)
    try:
        yield [db, plain]
    finally:
        plain.close()


def test_sqlite_runs_with_sqlite_vec_here_and_without_it_on_request(db: Database) -> None:
    with db.unit() as uow:
        index = uow.vectors
    if db.dialect == "postgresql":
        assert db.vector_search == "numpy" and type(index) is BlobVectorIndex
        return
    # the test environment has the `vector` extra: CI really exercises sqlite-vec
    assert db.vector_search == "sqlite-vec" and type(index) is SqliteVecIndex
    with db.unit() as uow:
        version = uow.session.execute(text("SELECT vec_version()")).scalar_one()
        assert str(version).startswith("v")
        # the pragmas are as on the stdlib module
        assert uow.session.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
        assert uow.session.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert uow.session.execute(text("PRAGMA synchronous")).scalar_one() == 2  # FULL
    plain = Database(db.url, sqlite_vec=False)
    try:
        with plain.unit() as uow:
            assert plain.vector_search == "numpy" and type(uow.vectors) is BlobVectorIndex
            with pytest.raises(Exception, match="no such function"):
                uow.session.execute(text("SELECT vec_version()"))
    finally:
        plain.close()


def _indexes(database: Database) -> Iterator[VectorIndex]:
    """Every index that can run on this database, each in its own unit of work."""
    for kind in (SqliteVecIndex, BlobVectorIndex):
        if kind is SqliteVecIndex and database.vector_search != "sqlite-vec":
            continue
        with database.unit() as uow:
            yield kind(uow.session)


def test_every_index_ranks_alike_and_as_exact_cosine(databases: list[Database]) -> None:
    db = databases[0]
    rng = np.random.default_rng(6)
    alice, bob, carol = (add_user(db, f"{n}@vec.example.org") for n in ("a", "b", "c"))
    words = [f"w{i}" for i in range(30)]
    owners = {"alice1": alice, "alice2": alice, "bob": bob, "carol": carol, "broken": alice}
    docs = {
        "alice1": add_document(db, alice, *words[:10]),
        "alice2": add_document(db, alice, *words[10:18]),
        "bob": add_document(db, bob, *words[18:24]),
        "carol": add_document(db, carol, *words[24:30]),  # shared below
        "broken": add_document(db, alice, "broken", status="error"),
    }
    with db.unit() as uow:
        handbook = uow.collections.create(carol, name="Handbook", shared=True)
        uow.collections.add_document(handbook.id, docs["carol"])
        uow.commit()
    vectors: dict[str, tuple[str, np.ndarray]] = {}  # chunk id -> (text, unit vector)
    for name, doc in docs.items():
        with db.unit() as uow:
            for chunk in uow.documents.chunks(owners[name], doc):
                raw = rng.normal(size=8).astype(np.float32)
                vectors[chunk.id] = (chunk.text, raw / np.linalg.norm(raw))
    put(db, MODEL, [(cid, v) for cid, (_, v) in vectors.items()])

    def expected(query: np.ndarray, allowed: set[str], limit: int) -> list[str]:
        texts = {vectors[c][0]: float(vectors[c][1] @ query) for c in vectors}
        ranked = sorted((t for t in texts if t in allowed), key=lambda t: -texts[t])
        return ranked[:limit]

    own = set(words[:18])
    # alice names bob's, carol's (shared), her own alice2 and her broken document
    readable = set(words[24:30]) | set(words[10:18])
    for _ in range(5):
        raw = rng.normal(size=8).astype(np.float32)
        query = raw / np.linalg.norm(raw)
        for database in databases:
            for index in _indexes(database):
                hits = index.search(alice, MODEL, query, 7)
                assert [h.text for h in hits] == expected(query, own, 7), type(index)
                for hit in hits:
                    assert abs(hit.score - float(vectors[hit.chunk_id][1] @ query)) < 1e-5
                ids = {docs["carol"], docs["bob"], docs["alice2"], docs["broken"]}
                scoped_hits = index.search(alice, MODEL, query, 30, document_ids=ids)
                assert [h.text for h in scoped_hits] == expected(query, readable, 30)
                assert index.search(bob, MODEL, query, 30, document_ids=[docs["alice1"]]) == []
                assert index.search(alice, MODEL, query, 30, document_ids=[]) == []
                assert index.search(alice, MODEL, query, 0) == []
    zero = np.zeros(8, dtype=np.float32)  # no direction: every chunk scores 0, in order
    for database in databases:
        for index in _indexes(database):
            hits = index.search(bob, MODEL, zero, 30)
            assert [(h.text, h.score) for h in hits] == [(w, 0.0) for w in words[18:24]]
