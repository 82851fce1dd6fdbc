"""Database connection: one SQLAlchemy engine per app, SQLite (WAL) or PostgreSQL by URL.

SQLite gets foreign keys, WAL, `synchronous=FULL` (a commit acknowledged to a client
survives a crash) and a busy timeout; with the `vector` extra installed (pysqlite3 and
sqlite-vec) it runs on pysqlite3 with sqlite-vec loaded on every connection, else on the
stdlib sqlite3. `postgresql://` URLs use psycopg 3. Sessions are short: one unit of work
each (`with db.unit() as uow: ...; uow.commit()`).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from causerie.core.errors import ConfigurationError, InvalidRequestError
from causerie.store.unit import Unit

log = logging.getLogger(__name__)
VectorSearch = Literal["sqlite-vec", "numpy"]


def default_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'causerie.db'}"


def normalise_url(url: str) -> str:
    """Accept `postgres://` and `postgresql://` as users write them; use psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _sqlite_vec_modules() -> tuple[ModuleType, ModuleType] | None:
    """pysqlite3's DB-API module and sqlite_vec, when both import (the `vector` extra): the
    stdlib sqlite3 here cannot load extensions."""
    try:
        import pysqlite3.dbapi2 as dbapi  # the `vector` extra, optional
        import sqlite_vec
    except ImportError:
        return None
    return dbapi, sqlite_vec


def _ensure_wal(cursor: Any, locked: type[Exception]) -> None:
    """WAL is persistent, set once per file; switching needs a moment alone with the file,
    and SQLite answers 'locked' without waiting when another process is writing."""
    for _ in range(100):
        try:
            if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
                return
            cursor.execute("PRAGMA journal_mode=WAL")
        except locked:
            time.sleep(0.05)
    raise ConfigurationError("cannot switch the SQLite database to WAL mode: it stays locked")


def _sqlite_setup(dbapi: ModuleType, sqlite_vec: ModuleType | None) -> Any:
    """The "connect" listener: sqlite-vec (when given), then the pragmas."""

    def setup(dbapi_conn: Any, _record: Any) -> None:
        if sqlite_vec is not None:
            dbapi_conn.enable_load_extension(True)
            try:
                sqlite_vec.load(dbapi_conn)
            finally:
                dbapi_conn.enable_load_extension(False)
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA busy_timeout=10000")  # first: the next pragmas may need to wait
        cursor.execute("PRAGMA foreign_keys=ON")
        _ensure_wal(cursor, dbapi.OperationalError)
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    return setup


def _strings(value: Any) -> Iterator[str]:
    """The strings among bound parameters, however the call shapes them (one row or many,
    a dict or a tuple each; a batch of "insertmanyvalues" comes as one dict)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


def _refuse_nul(
    _conn: Any, _cursor: Any, _statement: str, parameters: Any, _context: Any, _many: bool
) -> None:
    """PostgreSQL cannot store the NUL character in text (psycopg raises, a 500); SQLite
    can, but text must be taken or refused alike on both. Text that holds one came from a
    client (extracted documents drop theirs), so it is the client's error."""
    if any("\x00" in text for text in _strings(parameters)):
        raise InvalidRequestError("Text cannot hold the NUL character (U+0000).")


class Database:
    """`sqlite_vec=False` keeps SQLite on the stdlib module even where sqlite-vec exists."""

    def __init__(self, url: str, *, sqlite_vec: bool = True) -> None:
        self.url = normalise_url(url)
        self._vector_search: VectorSearch = "numpy"
        try:
            parsed = make_url(self.url)
        except Exception as exc:
            raise ConfigurationError(f"invalid database URL: {exc}") from exc
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            found = _sqlite_vec_modules() if sqlite_vec else None
            dbapi, extension = found if found else (sqlite3, None)
            self.engine: Engine = create_engine(
                self.url,
                module=dbapi,
                connect_args={"check_same_thread": False, "timeout": 10},
            )
            event.listen(self.engine, "connect", _sqlite_setup(dbapi, extension))
            if extension is not None:
                self._vector_search = "sqlite-vec"
        elif self.dialect == "postgresql":
            self.engine = create_engine(self.url, pool_pre_ping=True, pool_size=10)
        else:
            raise ConfigurationError(f"unsupported database '{self.dialect}' (sqlite, postgresql)")
        event.listen(self.engine, "before_cursor_execute", _refuse_nul)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        log.debug("vector search: %s (%s)", self._vector_search, self.dialect)

    @property
    def vector_search(self) -> VectorSearch:
        """How chunk vectors are ranked: in SQL by sqlite-vec, or in numpy after the SQL."""
        return self._vector_search

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as session:
            yield session

    @contextmanager
    def unit(self) -> Iterator[Unit]:
        """A unit of work; nothing is written unless `uow.commit()` is called."""
        with self._sessions() as session:
            yield Unit(session, sqlite_vec=self._vector_search == "sqlite-vec")

    def close(self) -> None:
        self.engine.dispose()
