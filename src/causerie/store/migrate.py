"""Schema migrations: Alembic revisions shipped in `store/migrations`, applied to a Database.

`upgrade(db)` is idempotent, all-or-nothing (both dialects have transactional DDL), and
safe when several processes start at once: PostgreSQL serialises on an advisory lock,
SQLite on `BEGIN IMMEDIATE`. The second one in finds the schema at head and does nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from causerie.core.errors import ConfigurationError
from causerie.store.db import Database

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
UPGRADE_LOCK = 7_303_010_000_000_001  # pg_advisory_xact_lock key: "causerie schema upgrade"
# Full-text search objects created by the migrations but not in the ORM metadata.
SEARCH_OBJECTS = frozenset(
    {
        "messages_fts",
        "ix_messages_content_search",
        "document_chunks_fts",
        "ix_document_chunks_text_search",
    }
)


def include_name(name: str | None, type_: str, _parents: object) -> bool:
    """Autogenerate filter: ignore the search index (the FTS5 table and its shadow tables)."""
    if name is None:
        return True
    return not (
        name in SEARCH_OBJECTS or name.startswith(("messages_fts_", "document_chunks_fts_"))
    )


def alembic_config(connection: Connection | None = None) -> Config:
    with _quiet_alembic():  # Alembic imports lazily: its import logs at INFO
        from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    with _quiet_alembic():
        from alembic.script import ScriptDirectory

        return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(db: Database) -> str | None:
    """The revision the database is at; None for an empty database."""
    with _quiet_alembic(), _connect(db) as conn:
        from alembic.runtime.migration import MigrationContext

        return MigrationContext.configure(conn).get_current_revision()


def upgrade(db: Database) -> None:
    """Bring the schema to the newest revision (a no-op when it is there already)."""
    with _quiet_alembic(), _connect(db) as conn:
        from alembic import command
        from alembic.util.exc import CommandError

        _lock(conn, db.dialect)
        try:
            command.upgrade(alembic_config(conn), "head")
        except CommandError as exc:  # e.g. the database is at a revision we do not know
            raise ConfigurationError(
                f"cannot upgrade the database schema: {exc} (was it last used by a newer Causerie?)"
            ) from exc
        conn.commit()


def new_revision(db: Database, message: str, rev_id: str) -> None:
    """For developers: write versions/<rev_id>_<message>.py with what the models changed,
    compared with `db` (which must be at head). Review it, then write out the SQL by hand."""
    with _quiet_alembic(), _connect(db) as conn:
        from alembic import command

        command.revision(alembic_config(conn), message=message, autogenerate=True, rev_id=rev_id)


def _connect(db: Database) -> Connection:
    try:
        return db.engine.connect()
    except DBAPIError as exc:
        where = db.engine.url.render_as_string(hide_password=True)
        raise ConfigurationError(f"cannot open the database {where}: {exc.orig}") from exc


@contextmanager
def _quiet_alembic() -> Iterator[None]:
    """Alembic narrates every step at INFO; a server's start-up log is no place for it."""
    logger = logging.getLogger("alembic")
    level = logger.level
    logger.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        logger.setLevel(level)


def _lock(conn: Connection, dialect: str) -> None:
    """Serialise upgrades across processes for the rest of this transaction."""
    if dialect == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": UPGRADE_LOCK})
    elif dialect == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
