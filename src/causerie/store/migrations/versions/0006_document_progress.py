"""Document indexing progress: documents are indexed in the background, so a row now says
how far it is (`progress_done` of `progress_total` chunks) besides its status (`queued` |
`indexing` | `ready` | `error`), `index_heartbeat` when its worker last wrote, so that
only rows a stopped process left behind are queued again, and `index_claim`, the number of
the current claim, so that only the latest worker's writes count. Existing rows are ready: their
progress is complete.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "documents", sa.Column("progress_done", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column(
        "documents", sa.Column("progress_total", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column("documents", sa.Column("index_heartbeat", sa.DateTime(timezone=True)))
    op.add_column(
        "documents", sa.Column("index_claim", sa.Integer(), nullable=False, server_default="0")
    )
    op.execute("UPDATE documents SET progress_done = chunk_count, progress_total = chunk_count")
    op.create_index("ix_documents_status", "documents", ["status"])


def downgrade() -> None:
    # a plain DROP COLUMN (SQLite >= 3.35): the table and its foreign keys stay as they are
    op.drop_index("ix_documents_status", table_name="documents")
    op.drop_column("documents", "index_claim")
    op.drop_column("documents", "index_heartbeat")
    op.drop_column("documents", "progress_total")
    op.drop_column("documents", "progress_done")
