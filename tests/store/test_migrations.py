"""Migrations on SQLite and PostgreSQL: apply, idempotent, no drift from the models,
concurrent upgrades from several threads and processes, reversible, clear errors."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from causerie.cli.db import run_upgrade
from causerie.core.errors import ConfigurationError
from causerie.store.db import Database
from causerie.store.migrate import (
    alembic_config,
    current_revision,
    head_revision,
    include_name,
    upgrade,
)
from causerie.store.tables import Base


def schema_diff(database: Database) -> list[object]:
    with database.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"include_name": include_name, "compare_type": True}
        )
        return list(compare_metadata(context, Base.metadata))


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.close()


def test_upgrade_creates_every_table_and_is_idempotent(database: Database) -> None:
    assert current_revision(database) is None
    upgrade(database)
    assert current_revision(database) == head_revision() == "0006"
    tables = set(inspect(database.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    upgrade(database)  # nothing to do, nothing breaks
    upgrade(database)
    assert current_revision(database) == head_revision()


def test_migrated_schema_matches_the_models(database: Database) -> None:
    upgrade(database)
    assert schema_diff(database) == []


def test_drift_would_be_noticed(database: Database) -> None:
    upgrade(database)
    with database.engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_messages_parent_id"))
    assert any("ix_messages_parent_id" in repr(diff) for diff in schema_diff(database))


def test_search_structures_exist(database: Database) -> None:
    upgrade(database)
    with database.engine.connect() as conn:
        if database.dialect == "sqlite":
            names = set(conn.execute(text("SELECT name FROM sqlite_master")).scalars())
            assert {"messages_fts", "messages_fts_insert", "messages_fts_update"} <= names
            assert "messages_fts_delete" in names
        else:
            index = conn.execute(
                text(
                    "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_messages_content_search'"
                )
            ).scalar_one()
            assert "gin" in index and "to_tsvector" in index
            folded = conn.execute(text("SELECT to_tsvector('causerie_search', 'Été')")).scalar()
            assert folded == "'ete':1"


def test_concurrent_upgrades_from_threads(database_url: str) -> None:
    databases = [Database(database_url) for _ in range(4)]
    barrier = threading.Barrier(len(databases))
    errors: list[BaseException] = []

    def run(database: Database) -> None:
        try:
            barrier.wait()
            upgrade(database)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(d,)) for d in databases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    try:
        assert errors == []
        assert current_revision(databases[0]) == head_revision()
        assert schema_diff(databases[0]) == []
    finally:
        for database in databases:
            database.close()


UPGRADE_SCRIPT = """
import sys, time
from causerie.store.db import Database
from causerie.store.migrate import upgrade
database = Database(sys.argv[1])
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))  # start together
upgrade(database)
database.close()
"""


def test_concurrent_upgrades_from_processes(database_url: str) -> None:
    start_at = str(time.time() + 1.5)  # past the imports of every process
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", UPGRADE_SCRIPT, database_url, start_at],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [proc.communicate(timeout=60)[0] for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0, 0], outputs
    database = Database(database_url)
    try:
        assert current_revision(database) == head_revision()
        assert schema_diff(database) == []
    finally:
        database.close()


def test_downgrade_to_base_removes_everything_and_upgrade_restores_it(
    database: Database,
) -> None:
    upgrade(database)
    with database.engine.connect() as conn:
        command.downgrade(alembic_config(conn), "base")
        conn.commit()
    assert current_revision(database) is None
    left = set(inspect(database.engine).get_table_names()) - {"alembic_version"}
    assert left == set()
    upgrade(database)
    assert schema_diff(database) == []


def test_unreachable_database_is_a_one_line_configuration_error() -> None:
    database = Database("postgresql://someone:s3cret@127.0.0.1:1/causerie")
    try:
        with pytest.raises(ConfigurationError, match="cannot open the database") as info:
            upgrade(database)
        assert "s3cret" not in info.value.message
    finally:
        database.close()


def test_cli_upgrade_uses_the_data_dir_by_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = SimpleNamespace(database_url=None, data_dir=tmp_path / "data")
    run_upgrade(settings)  # type: ignore[arg-type]
    assert "0006" in capsys.readouterr().out
    database = Database(f"sqlite:///{tmp_path / 'data' / 'causerie.db'}")
    try:
        assert current_revision(database) == head_revision()
    finally:
        database.close()
    run_upgrade(settings)  # type: ignore[arg-type]
    assert "already" in capsys.readouterr().out


def test_a_revision_from_a_newer_causerie_is_a_clear_error(database: Database) -> None:
    upgrade(database)
    with database.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(ConfigurationError, match="newer Causerie"):
        upgrade(database)
