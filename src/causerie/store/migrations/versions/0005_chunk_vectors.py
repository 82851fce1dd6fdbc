"""Chunk vectors: one dense embedding per document chunk, tagged with its model.

Plain float32 blobs on both databases (searched exactly, with numpy, over the owner's
candidates): sqlite-vec and pgvector are not assumed to be installed.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "chunk_vectors",
        sa.Column("chunk_id", sa.String(32), nullable=False),
        sa.Column("model", sa.String(120), nullable=False),
        sa.Column("dimensions", sa.Integer(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("chunk_id", name="pk_chunk_vectors"),
        sa.ForeignKeyConstraint(
            ["chunk_id"],
            ["document_chunks.id"],
            name="fk_chunk_vectors_chunk_id_document_chunks",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_chunk_vectors_model", "chunk_vectors", ["model"])


def downgrade() -> None:
    op.drop_index("ix_chunk_vectors_model", table_name="chunk_vectors")
    op.drop_table("chunk_vectors")
