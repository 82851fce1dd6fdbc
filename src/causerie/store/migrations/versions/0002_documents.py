"""Documents: uploaded files and their chunks, with a full-text index over the chunks.

SQLite: an external-content FTS5 table over document_chunks (heading, text) kept in step
by triggers. PostgreSQL: a GIN index on the `causerie_search` tsvector of heading + text
(the configuration made by 0001); store/documents.py builds the very same expression.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SEPARATORS = "<>&/@.:-_+~?=#"
_DOCUMENT = (
    "to_tsvector('causerie_search'::regconfig,"
    f" translate(heading || ' ' || text, '{_SEPARATORS}', '{' ' * len(_SEPARATORS)}'))"
)

_SQLITE_SEARCH = (
    """CREATE VIRTUAL TABLE document_chunks_fts USING fts5(
        heading, text, content='document_chunks', content_rowid='rowid',
        tokenize='unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER document_chunks_fts_insert AFTER INSERT ON document_chunks BEGIN
        INSERT INTO document_chunks_fts(rowid, heading, text)
        VALUES (new.rowid, new.heading, new.text);
    END""",
    """CREATE TRIGGER document_chunks_fts_delete AFTER DELETE ON document_chunks BEGIN
        INSERT INTO document_chunks_fts(document_chunks_fts, rowid, heading, text)
        VALUES ('delete', old.rowid, old.heading, old.text);
    END""",
    """CREATE TRIGGER document_chunks_fts_update AFTER UPDATE OF heading, text
        ON document_chunks BEGIN
        INSERT INTO document_chunks_fts(document_chunks_fts, rowid, heading, text)
        VALUES ('delete', old.rowid, old.heading, old.text);
        INSERT INTO document_chunks_fts(rowid, heading, text)
        VALUES (new.rowid, new.heading, new.text);
    END""",
)


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("mime", sa.String(120), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("stored_name", sa.String(80), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("chunk_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_documents"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_documents_user_id_users", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_documents_user_id", "documents", ["user_id"])
    op.create_table(
        "document_chunks",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("document_id", sa.String(32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("heading", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_document_chunks"),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name="fk_document_chunks_document_id_documents",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_document_chunks_document_id", "document_chunks", ["document_id"])
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in _SQLITE_SEARCH:
            op.execute(statement)
    elif dialect == "postgresql":
        op.execute(
            "CREATE INDEX ix_document_chunks_text_search"
            f" ON document_chunks USING gin ({_DOCUMENT})"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS document_chunks_fts_{trigger}")
        op.execute("DROP TABLE IF EXISTS document_chunks_fts")
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_document_chunks_text_search")
    op.drop_table("document_chunks")
    op.drop_table("documents")
