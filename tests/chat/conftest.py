"""Chat fixtures: tests that ask for `db` run on SQLite and on PostgreSQL."""

from tests.support.postgres import (  # noqa: F401  (fixtures, registered by import)
    database_backend,
    database_url,
    db,
    migrated_database_url,
    postgres_cluster,
)
