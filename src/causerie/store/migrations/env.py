"""Alembic environment: migrations run on the connection `causerie.store.migrate` gives.

Online mode only, inside the caller's transaction (which holds the upgrade lock). The
full-text search objects are not in the ORM metadata; autogenerate leaves them alone.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from causerie.store.migrate import include_name
from causerie.store.tables import Base


def run() -> None:
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError(
            "run migrations with `causerie db upgrade` (causerie.store.migrate), not `alembic`"
        )
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        include_name=include_name,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


run()
