"""The indexing queue on SQLite and PostgreSQL: migration 0006 (existing documents read as
ready with complete progress), claims in order and never twice, progress as chunks are
stored, nothing searched before `ready`, a deleted row drops the work, restart re-queues."""

from __future__ import annotations

from alembic import command
from sqlalchemy import select

from causerie.store.db import Database
from causerie.store.migrate import alembic_config, upgrade
from causerie.store.tables import Document, DocumentChunk
from tests.store.test_document_search import Piece, add_document, add_user, search


def queue_document(db: Database, user_id: str, name: str) -> str:
    with db.unit() as uow:
        doc = uow.documents.create(
            user_id, filename=name, mime="text/plain", size=1, sha256="0" * 64,
            stored_name="x.txt", status="queued", chunk_count=0,
        )  # fmt: skip
        uow.commit()
        return doc.id


def row(db: Database, document_id: str) -> tuple[str, int, int, int] | None:
    with db.unit() as uow:
        d = uow.session.get(Document, document_id)
        return None if d is None else (d.status, d.progress_done, d.progress_total, d.chunk_count)


def test_migration_0006_keeps_existing_documents_ready(database_url: str) -> None:
    database = Database(database_url)
    try:
        upgrade(database)
        alice = add_user(database, "m@example.org")
        doc = add_document(database, alice, "one", "two")
        with database.engine.connect() as conn:
            command.downgrade(alembic_config(conn), "0005")
            conn.commit()
        upgrade(database)
        assert row(database, doc) == ("ready", 2, 2, 2)
        assert search(database, alice, "two") == ["two"]
    finally:
        database.close()


def test_claim_progress_and_ready(db: Database) -> None:
    alice = add_user(db, "q@example.org")
    first, second = queue_document(db, alice, "a.txt"), queue_document(db, alice, "b.txt")
    with db.unit() as uow:
        claimed = uow.index_queue.claim()
        again = uow.index_queue.claim()
        uow.commit()
    assert claimed is not None and claimed.id == first and claimed.user_id == alice
    assert again is not None and again.id == second  # the first is taken
    with db.unit() as uow:
        assert uow.index_queue.claim() is None
        assert uow.index_queue.start(first, 3)
        ids = uow.index_queue.add_chunks(first, 2, [Piece(0, "", "alpha"), Piece(1, "", "beta")])
        uow.commit()
    assert len(ids) == 2 and row(db, first) == ("indexing", 2, 3, 0)
    assert search(db, alice, "alpha") == []  # not ready: never a candidate
    with db.unit() as uow:
        assert uow.index_queue.add_chunks(first, 3, [Piece(2, "", "gamma")])
        assert uow.index_queue.finish(first, 3)
        uow.commit()
    assert row(db, first) == ("ready", 3, 3, 3)
    assert search(db, alice, "alpha gamma") == ["alpha", "gamma"] or search(
        db, alice, "alpha gamma"
    ) == ["gamma", "alpha"]
    with db.unit() as uow:
        assert not uow.index_queue.finish(first, 3)  # only an `indexing` row moves
        assert uow.index_queue.fail(second, "no text could be found in this file")
        uow.commit()
    with db.unit() as uow:
        failed = uow.session.get(Document, second)
        assert failed is not None and failed.status == "error" and failed.error


def test_deleted_row_drops_the_work_and_restart_requeues(db: Database) -> None:
    alice = add_user(db, "d@example.org")
    gone, stuck = queue_document(db, alice, "gone.txt"), queue_document(db, alice, "stuck.txt")
    with db.unit() as uow:
        assert uow.index_queue.claim() is not None and uow.index_queue.claim() is not None
        assert uow.index_queue.start(gone, 2)
        assert uow.index_queue.add_chunks(gone, 1, [Piece(0, "", "first")])
        uow.commit()
    with db.unit() as uow:
        document = uow.documents.get(alice, gone)
        assert document is not None
        uow.documents.delete(document)
        uow.commit()
    with db.unit() as uow:
        assert uow.index_queue.add_chunks(gone, 2, [Piece(1, "", "second")]) == []
        assert not uow.index_queue.finish(gone, 2)
        uow.commit()
    with db.unit() as uow:
        left = uow.session.scalars(
            select(DocumentChunk.id).where(DocumentChunk.document_id == gone)
        ).all()
        assert left == []
        assert uow.index_queue.requeue_unfinished(stale_after=300) == 0  # a live worker's
        assert uow.index_queue.requeue_unfinished() == 1
        uow.commit()
    assert row(db, stuck) == ("queued", 0, 0, 0)
    with db.unit() as uow:
        claimed = uow.index_queue.claim()
        assert claimed is not None and claimed.id == stuck


def test_a_worker_whose_document_was_claimed_again_writes_nothing(db: Database) -> None:
    """A row queued again (its worker looked dead) and claimed by a second worker: the first
    worker, alive after all, can no longer write chunks, progress or an outcome."""
    alice = add_user(db, "takeover@example.org")
    doc = queue_document(db, alice, "slow.txt")
    with db.unit() as uow:
        first = uow.index_queue.claim()
        assert first is not None and first.id == doc
        assert uow.index_queue.start(doc, 2, first.claim)
        uow.commit()
    with db.unit() as uow:
        assert uow.index_queue.requeue_unfinished() == 1
        second = uow.index_queue.claim()
        assert second is not None and second.claim == first.claim + 1
        assert uow.index_queue.start(doc, 2, second.claim)
        uow.commit()
    with db.unit() as uow:
        assert uow.index_queue.add_chunks(doc, 1, [Piece(0, "", "stale")], first.claim) == []
        assert not uow.index_queue.finish(doc, 1, first.claim)
        assert not uow.index_queue.fail(doc, "late", first.claim)
        assert not uow.index_queue.release(doc, first.claim)
        assert uow.index_queue.add_chunks(doc, 2, [Piece(0, "", "fresh")], second.claim)
        assert uow.index_queue.finish(doc, 1, second.claim)
        uow.commit()
    assert row(db, doc) == ("ready", 2, 2, 1)
    assert search(db, alice, "stale") == [] and search(db, alice, "fresh") == ["fresh"]
