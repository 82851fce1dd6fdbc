"""Chat fixtures: every test that asks for `db` runs on SQLite and on PostgreSQL (as in
tests/store/conftest.py)."""

from tests.support.postgres import (  # noqa: F401  (fixtures, registered by import)
    database_backend,
    database_url,
    db,
    migrated_database_url,
    postgres_cluster,
)
