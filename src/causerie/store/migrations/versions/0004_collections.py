"""Collections of documents (a user's own, or shared by the admin) and attachments of a
collection or a document to a conversation or a persona.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}", ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "collections",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_collections"),
        _fk("collections", "user_id", "users"),
    )
    op.create_index("ix_collections_user_id", "collections", ["user_id"])
    op.create_table(
        "collection_documents",
        sa.Column("collection_id", sa.String(32), nullable=False),
        sa.Column("document_id", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("collection_id", "document_id", name="pk_collection_documents"),
        _fk("collection_documents", "collection_id", "collections"),
        _fk("collection_documents", "document_id", "documents"),
    )
    op.create_index("ix_collection_documents_document_id", "collection_documents", ["document_id"])
    op.create_table(
        "attachments",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("conversation_id", sa.String(32), nullable=True),
        sa.Column("persona_id", sa.String(32), nullable=True),
        sa.Column("collection_id", sa.String(32), nullable=True),
        sa.Column("document_id", sa.String(32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_attachments"),
        _fk("attachments", "user_id", "users"),
        _fk("attachments", "conversation_id", "conversations"),
        _fk("attachments", "persona_id", "personas"),
        _fk("attachments", "collection_id", "collections"),
        _fk("attachments", "document_id", "documents"),
    )
    for column in ("user_id", "conversation_id", "persona_id"):
        op.create_index(f"ix_attachments_{column}", "attachments", [column])


def downgrade() -> None:
    op.drop_table("attachments")
    op.drop_table("collection_documents")
    op.drop_table("collections")
