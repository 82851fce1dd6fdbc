"""Database connection: one SQLAlchemy engine per app, SQLite (WAL) or PostgreSQL by URL.

SQLite gets foreign keys, WAL, `synchronous=FULL` (a commit acknowledged to a client
survives a crash) and a busy timeout. `postgresql://` URLs use psycopg 3. Sessions are
short: one unit of work each (`with db.unit() as uow: ...; uow.commit()`).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from causerie.core.errors import ConfigurationError
from causerie.store.unit import Unit


def default_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'causerie.db'}"


def normalise_url(url: str) -> str:
    """Accept `postgres://` and `postgresql://` as users write them; use psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _ensure_wal(cursor: Any) -> None:
    """WAL is persistent, set once per file; switching needs a moment alone with the file,
    and SQLite answers 'locked' without waiting when another process is writing."""
    for _ in range(100):
        try:
            if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
                return
            cursor.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError:
            time.sleep(0.05)
    raise ConfigurationError("cannot switch the SQLite database to WAL mode: it stays locked")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA busy_timeout=10000")  # first: the next pragmas may need to wait
    cursor.execute("PRAGMA foreign_keys=ON")
    _ensure_wal(cursor)
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


class Database:
    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        try:
            parsed = make_url(self.url)
        except Exception as exc:
            raise ConfigurationError(f"invalid database URL: {exc}") from exc
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            self.engine: Engine = create_engine(
                self.url, connect_args={"check_same_thread": False, "timeout": 10}
            )
            event.listen(self.engine, "connect", _sqlite_pragmas)
        elif self.dialect == "postgresql":
            self.engine = create_engine(self.url, pool_pre_ping=True, pool_size=10)
        else:
            raise ConfigurationError(f"unsupported database '{self.dialect}' (sqlite, postgresql)")
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as session:
            yield session

    @contextmanager
    def unit(self) -> Iterator[Unit]:
        """A unit of work; nothing is written unless `uow.commit()` is called."""
        with self._sessions() as session:
            yield Unit(session)

    def close(self) -> None:
        self.engine.dispose()
