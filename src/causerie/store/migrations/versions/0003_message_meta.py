"""Messages carry a JSON `meta`: cited sources, an assistant's tool calls, a tool result's id.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # a plain ADD COLUMN: SQLite keeps the table (and the search triggers on it) as it is
    op.add_column("messages", sa.Column("meta", sa.JSON(), nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("meta")
