"""The connection on both databases: foreign keys and cascades, constraints, JSON and
timestamps round-trip; SQLite in WAL mode with synchronous=FULL, durable on a crash."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import IntegrityError

from causerie.core.errors import ConfigurationError, InvalidRequestError
from causerie.store.db import Database, normalise_url
from causerie.store.tables import ChatMessage, Conversation, User
from tests.support.postgres import migrated_sqlite_file


def make_conversation(db: Database) -> tuple[str, str]:
    with db.session() as s:
        user = User(email="a@example.com", password_hash="x")
        s.add(user)
        s.flush()
        conversation = Conversation(user_id=user.id, title="t")
        s.add(conversation)
        s.flush()
        root = ChatMessage(conversation_id=conversation.id, role="user", content="hi")
        s.add(root)
        s.flush()
        reply = ChatMessage(
            conversation_id=conversation.id, parent_id=root.id, role="assistant", content="yo"
        )
        s.add(reply)
        s.flush()
        s.add(ChatMessage(conversation_id=conversation.id, parent_id=reply.id, role="user"))
        s.commit()
        return user.id, conversation.id


def count_messages(db: Database) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(ChatMessage)) or 0


def test_deleting_a_conversation_cascades_to_its_messages(db: Database) -> None:
    _, conversation_id = make_conversation(db)
    assert count_messages(db) == 3
    with db.session() as s:
        s.execute(delete(Conversation).where(Conversation.id == conversation_id))
        s.commit()
    assert count_messages(db) == 0


def test_deleting_a_message_deletes_its_branch(db: Database) -> None:
    make_conversation(db)
    with db.session() as s:
        root = s.scalars(select(ChatMessage).where(ChatMessage.parent_id.is_(None))).one()
        s.execute(delete(ChatMessage).where(ChatMessage.id == root.id))
        s.commit()
    assert count_messages(db) == 0


def test_foreign_keys_are_enforced(db: Database) -> None:
    with db.session() as s:
        s.add(ChatMessage(conversation_id="nope", role="user", content="orphan"))
        with pytest.raises(IntegrityError):
            s.commit()


def test_unique_email(db: Database) -> None:
    with db.session() as s:
        s.add(User(email="same@example.com", password_hash="x"))
        s.commit()
    with db.session() as s:
        s.add(User(email="same@example.com", password_hash="y"))
        with pytest.raises(IntegrityError):
            s.commit()


def test_json_and_timestamps_round_trip(db: Database) -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    with db.session() as s:
        user = User(
            email="j@example.com", password_hash="x", preferences={"theme": "dark", "n": [1, 2]},
            created_at=when,
        )  # fmt: skip
        s.add(user)
        s.commit()
        user_id = user.id
    with db.session() as s:
        loaded = s.get(User, user_id)
        assert loaded is not None
        assert loaded.preferences == {"theme": "dark", "n": [1, 2]}
        assert loaded.created_at.replace(tzinfo=UTC) == when
        assert loaded.is_active is True


def sqlite_db(tmp_path: Path) -> Database:
    path = tmp_path / "causerie.db"
    migrated_sqlite_file(path)
    return Database(f"sqlite:///{path}")


def test_sqlite_pragmas(tmp_path: Path) -> None:
    db = sqlite_db(tmp_path)
    try:
        with db.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 10000
    finally:
        db.close()


CRASH_SCRIPT = """
import os, sys
from causerie.store.db import Database
from causerie.store.tables import User
db = Database(sys.argv[1])
with db.session() as s:
    s.add(User(email="durable@example.com", password_hash="x"))
    s.commit()
print("committed", flush=True)
os._exit(0)  # no close, no checkpoint: the row lives only in the WAL
"""


def test_sqlite_commit_survives_a_crash(tmp_path: Path) -> None:
    db = sqlite_db(tmp_path)
    db.close()
    result = subprocess.run(
        [sys.executable, "-c", CRASH_SCRIPT, db.url], capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == "committed", result.stderr
    assert (tmp_path / "causerie.db-wal").stat().st_size > 0
    db = Database(db.url)
    try:
        with db.session() as s:
            assert s.scalars(select(User.email)).all() == ["durable@example.com"]
    finally:
        db.close()


def test_urls() -> None:
    assert normalise_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalise_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"
    with pytest.raises(ConfigurationError, match="unsupported database"):
        Database("mysql://u@h/d")
    with pytest.raises(ConfigurationError, match="invalid database URL"):
        Database("not a url")


def test_text_with_a_nul_character_is_refused_alike_on_both(db: Database) -> None:
    """PostgreSQL cannot store NUL in text (psycopg would raise, a 500): both databases
    refuse it as the client's error, and nothing is written."""
    user_id, conversation_id = make_conversation(db)
    before = count_messages(db)
    with pytest.raises(InvalidRequestError, match="NUL"), db.session() as s:
        s.add(ChatMessage(conversation_id=conversation_id, role="user", content="a\x00b"))
        s.commit()
    with pytest.raises(InvalidRequestError, match="NUL"), db.session() as s:
        s.add_all(Conversation(user_id=user_id, title=f"t{i}\x00") for i in range(3))
        s.commit()
    assert count_messages(db) == before
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Conversation)) == 1
