"""Store fixtures: every test that asks for `database_url` or `db` runs on SQLite and on
PostgreSQL (a throwaway cluster started once per test run, see tests/support/postgres.py).
"""

from tests.support.postgres import (  # noqa: F401  (fixtures, registered by import)
    database_backend,
    database_url,
    db,
    migrated_database_url,
    postgres_cluster,
)
