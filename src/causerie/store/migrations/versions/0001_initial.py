"""Initial schema: every table of `causerie.store.tables`, plus full-text search.

SQLite: an external-content FTS5 table over messages.content kept in step by triggers.
PostgreSQL: a GIN index on to_tsvector('causerie_search', content with punctuation as
spaces), a text search configuration that folds accents with `unaccent` when it can.

Revision ID: 0001
Revises:
Create Date: 2026-11-30
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.exc import DBAPIError

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger(__name__)


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _owner() -> sa.Column[Any]:
    return sa.Column("user_id", sa.String(32), nullable=False)


def _owner_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["user_id"], ["users.id"], name=f"fk_{table}_user_id_users", ondelete="CASCADE"
    )


def upgrade() -> None:
    _create_tables()
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _create_sqlite_search()
    elif dialect == "postgresql":
        _create_postgresql_search()


def _create_tables() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("custom_instructions", sa.Text(), nullable=False),
        sa.Column("preferences", sa.JSON(), nullable=False),
        sa.Column("requests_per_minute", sa.Integer(), nullable=True),
        sa.Column("tokens_per_day", sa.Integer(), nullable=True),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("email", name="uq_users_email"),
    )
    op.create_table(
        "admin_seat",
        sa.Column("id", sa.Integer(), nullable=False),
        _owner(),
        sa.PrimaryKeyConstraint("id", name="pk_admin_seat"),
        _owner_fk("admin_seat"),
    )
    op.create_table(
        "sessions",
        sa.Column("token_hash", sa.String(64), nullable=False),
        _owner(),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        _timestamp("created_at"),
        _timestamp("expires_at"),
        sa.PrimaryKeyConstraint("token_hash", name="pk_sessions"),
        _owner_fk("sessions"),
    )
    op.create_index("ix_sessions_user_id", "sessions", ["user_id"])
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(32), nullable=False),
        _owner(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        _timestamp("created_at"),
        _timestamp("last_used_at", nullable=True),
        _timestamp("revoked_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        _owner_fk("api_keys"),
        sa.UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
    )
    op.create_index("ix_api_keys_user_id", "api_keys", ["user_id"])
    op.create_table(
        "app_settings",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_app_settings"),
    )
    op.create_table(
        "personas",
        sa.Column("id", sa.String(32), nullable=False),
        _owner(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("system_prompt", sa.Text(), nullable=False),
        sa.Column("model", sa.String(200), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_personas"),
        _owner_fk("personas"),
    )
    op.create_index("ix_personas_user_id", "personas", ["user_id"])
    op.create_table(
        "conversations",
        sa.Column("id", sa.String(32), nullable=False),
        _owner(),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("system_prompt", sa.Text(), nullable=False),
        sa.Column("persona_id", sa.String(32), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("pinned", sa.Boolean(), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("current_leaf_id", sa.String(32), nullable=True),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_conversations"),
        _owner_fk("conversations"),
        sa.ForeignKeyConstraint(
            ["persona_id"],
            ["personas.id"],
            name="fk_conversations_persona_id_personas",
            ondelete="SET NULL",
        ),
    )
    op.create_index(
        "ix_conversations_owner_order", "conversations", ["user_id", "pinned", "updated_at"]
    )
    op.create_table(
        "messages",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("conversation_id", sa.String(32), nullable=False),
        sa.Column("parent_id", sa.String(32), nullable=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("model", sa.String(200), nullable=True),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_messages"),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name="fk_messages_conversation_id_conversations",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["messages.id"],
            name="fk_messages_parent_id_messages",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_messages_conversation_id", "messages", ["conversation_id"])
    op.create_index("ix_messages_parent_id", "messages", ["parent_id"])
    op.create_table(
        "shares",
        sa.Column("id", sa.String(64), nullable=False),
        _owner(),
        sa.Column("conversation_id", sa.String(32), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        _timestamp("created_at"),
        _timestamp("revoked_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_shares"),
        _owner_fk("shares"),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name="fk_shares_conversation_id_conversations",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_shares_user_id", "shares", ["user_id"])
    op.create_index("ix_shares_conversation_id", "shares", ["conversation_id"])
    op.create_table(
        "usage_days",
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "model", "day", name="pk_usage_days"),
        _owner_fk("usage_days"),
    )
    op.create_table(
        "rate_windows",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("window_start", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start", name="pk_rate_windows"),
    )


# The FTS5 rowid is the implicit rowid of `messages` (its primary key is text). VACUUM
# keeps rowids; were they ever to drift, `INSERT INTO messages_fts(messages_fts)
# VALUES ('rebuild')` rebuilds the index from the table.
_SQLITE_SEARCH = (
    """CREATE VIRTUAL TABLE messages_fts USING fts5(
        content, content='messages', content_rowid='rowid',
        tokenize='unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
        INSERT INTO messages_fts(rowid, content) VALUES (new.rowid, new.content);
    END""",
    """CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, content)
        VALUES ('delete', old.rowid, old.content);
    END""",
    """CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, content)
        VALUES ('delete', old.rowid, old.content);
        INSERT INTO messages_fts(rowid, content) VALUES (new.rowid, new.content);
    END""",
)


def _create_sqlite_search() -> None:
    for statement in _SQLITE_SEARCH:
        op.execute(statement)


# Punctuation that PostgreSQL's parser reads as tags, entities, e-mails, URLs, paths,
# hyphenated words or numbers: searched as plain separators, as FTS5's unicode61 does.
# search.py must build the very same expression, or the index is not used.
_SEPARATORS = "<>&/@.:-_+~?=#"
_DOCUMENT = (
    "to_tsvector('causerie_search'::regconfig,"
    f" translate(content, '{_SEPARATORS}', '{' ' * len(_SEPARATORS)}'))"
)
_WORD_TOKENS = (
    "asciiword, asciihword, hword_asciipart, word, hword, hword_part,"
    " numword, numhword, hword_numpart"
)


def _create_postgresql_search() -> None:
    bind = op.get_bind()
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS unaccent")
        unaccent = True
    except DBAPIError as exc:  # not installed, or not allowed: search without folding
        log.warning("search will not fold accents: cannot create extension unaccent (%s)", exc)
        unaccent = False
    op.execute("CREATE TEXT SEARCH CONFIGURATION causerie_search (COPY = pg_catalog.simple)")
    if unaccent:
        op.execute(
            "ALTER TEXT SEARCH CONFIGURATION causerie_search"
            f" ALTER MAPPING FOR {_WORD_TOKENS} WITH unaccent, simple"
        )
    op.execute(f"CREATE INDEX ix_messages_content_search ON messages USING gin ({_DOCUMENT})")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS messages_fts_{trigger}")
        op.execute("DROP TABLE IF EXISTS messages_fts")
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_messages_content_search")
        op.execute("DROP TEXT SEARCH CONFIGURATION IF EXISTS causerie_search")
    for table in (
        "rate_windows",
        "usage_days",
        "shares",
        "messages",
        "conversations",
        "personas",
        "app_settings",
        "api_keys",
        "sessions",
        "admin_seat",
        "users",
    ):
        op.drop_table(table)
