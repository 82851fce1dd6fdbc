"""Database fixtures for tests: a throwaway PostgreSQL cluster and real SQLite files.

One cluster per test process: initdb in a temp dir, started on a free loopback port (and
a unix socket in that dir) on first use, stopped and removed at session end (or at exit).
As root the server runs as the `postgres` system user, since PostgreSQL refuses root.
Each test gets its own database: a new empty one, or a migrated one (cloned from a
template, or one an earlier test used, emptied with TRUNCATE: schema changes need the former).

Use from any conftest: import the fixtures below (see tests/store/conftest.py).
Without PostgreSQL the postgresql-parametrized tests skip locally and fail when CI is set.
"""

from __future__ import annotations

import atexit
import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from causerie.store.db import Database
from causerie.store.migrate import upgrade

BACKENDS = ["sqlite", "postgresql"]
SERVER_USER = "postgres"
_SETTINGS = {  # a test cluster: fast, not durable
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "shared_buffers": "32MB",
    "log_min_messages": "warning",
}


class PostgresUnavailable(RuntimeError):
    """PostgreSQL cannot be found or started here."""


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def find_bindir() -> Path | None:
    """The directory of `initdb`/`pg_ctl`: on PATH, else Debian's /usr/lib/postgresql/N/bin."""
    on_path = shutil.which("pg_ctl")
    if on_path:
        bindir = Path(on_path).resolve().parent
        if (bindir / "initdb").exists():
            return bindir
    versions = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    versions.sort(key=lambda p: int(Path(p).parent.parent.name.split(".")[0]), reverse=True)
    return Path(versions[0]).parent if versions else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresCluster:
    """A running throwaway cluster; `create_database()` hands out fresh databases."""

    def __init__(self, root: Path, bindir: Path) -> None:
        self.root, self.bindir = root, bindir
        self.data, self.sockets, self.log = root / "data", root / "sockets", root / "server.log"
        self.password = secrets.token_hex(16)
        self.port = 0
        self._templates: dict[str, str] = {}
        self._pools: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------

    @classmethod
    def start(cls) -> PostgresCluster:
        bindir = find_bindir()
        if bindir is None:
            raise PostgresUnavailable(
                "PostgreSQL server binaries not found (run `bash scripts/ensure-postgres.sh`)"
            )
        root = Path(tempfile.mkdtemp(prefix="causerie-pg-"))
        cluster = cls(root, bindir)
        try:
            cluster._init()
            cluster._run_server()
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def _as_server_user(self, *cmd: str) -> list[str]:
        if os.geteuid() != 0:
            return list(cmd)
        if shutil.which("runuser"):
            return ["runuser", "-u", SERVER_USER, "--", *cmd]
        return ["su", SERVER_USER, "-s", "/bin/sh", "-c", subprocess.list2cmdline(cmd)]

    def _run(self, *cmd: str, what: str) -> None:
        result = subprocess.run(
            self._as_server_user(*cmd), capture_output=True, text=True, timeout=120
        )
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise PostgresUnavailable(
                f"{what} failed ({result.returncode}): {result.stderr.strip()}\n{log}"
            )

    def _init(self) -> None:
        if os.geteuid() == 0:
            try:
                shutil.chown(self.root, user=SERVER_USER)
            except LookupError as exc:
                raise PostgresUnavailable(f"no `{SERVER_USER}` system user: {exc}") from exc
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n")
        pwfile.chmod(0o600)
        if os.geteuid() == 0:
            shutil.chown(pwfile, user=SERVER_USER)
        locale = "C.UTF-8" if _has_c_utf8() else "C"
        self._run(
            str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
            f"--pwfile={pwfile}", "--auth-local=trust", "--auth-host=scram-sha-256",
            "-E", "UTF8", f"--locale={locale}", "--no-sync", "--no-instructions",
            what="initdb",
        )  # fmt: skip
        pwfile.unlink()
        self._run("mkdir", "-p", str(self.sockets), what="mkdir")
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(f"\nunix_socket_directories = '{self.sockets}'\n")
            conf.writelines(f"{key} = {value}\n" for key, value in _SETTINGS.items())

    def _run_server(self) -> None:
        for attempt in range(3):  # the free port may be taken between probe and bind
            self.port = free_port()
            try:
                self._run(
                    str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                    "-o", f"-p {self.port}", "-w", "-t", "60", "start",
                    what="pg_ctl start",
                )  # fmt: skip
                return
            except PostgresUnavailable:
                if attempt == 2:
                    raise

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run(
                self._as_server_user(
                    str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                    "-w", "stop",
                ),
                capture_output=True,
                timeout=60,
            )  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)

    # -- databases -------------------------------------------------------------------------

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres:{self.password}@127.0.0.1:{self.port}/{dbname}"

    def admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.url(), autocommit=True)

    def create_database(self, template: str = "template1") -> str:
        name = "test_" + secrets.token_hex(6)
        with self.admin() as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(template)
                )
            )
        return name

    def drop_database(self, name: str) -> None:
        with self.admin() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def template(self, key: str, prepare: Callable[[str], None]) -> str:
        """A database made once by `prepare(url)`, to clone with `create_database`."""
        with self._lock:
            if key not in self._templates:
                name = self.create_database()
                prepare(self.url(name))
                self._templates[key] = name
            return self._templates[key]

    def checkout(self, key: str, prepare: Callable[[str], None]) -> str:
        """A database as `prepare` left it: a used one emptied by `checkin`, or a new clone."""
        with self._lock:
            pool = self._pools.setdefault(key, [])
            if pool:
                return pool.pop()
        return self.create_database(template=self.template(key, prepare))

    def checkin(self, key: str, name: str) -> None:
        """Empty every table (a cheap reset, kept for the next test) or drop the database."""
        try:
            with psycopg.connect(self.url(name), autocommit=True) as conn:
                conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
                conn.execute("SET lock_timeout = '10s'")
                tables = [
                    sql.Identifier(row[0])
                    for row in conn.execute(
                        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                        " AND tablename <> 'alembic_version'"
                    )
                ]
                if tables:
                    conn.execute(
                        sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(
                            sql.SQL(", ").join(tables)
                        )
                    )
        except psycopg.Error:
            self.drop_database(name)
            return
        with self._lock:
            self._pools.setdefault(key, []).append(name)


def _has_c_utf8() -> bool:
    try:
        out = subprocess.run(["locale", "-a"], capture_output=True, text=True).stdout
    except OSError:
        return False
    return any(line.lower() in ("c.utf8", "c.utf-8") for line in out.split())


# -- one cluster per process ---------------------------------------------------------------

_shared: PostgresCluster | None = None
_failure: str | None = None
_shared_lock = threading.Lock()


def shared_cluster() -> PostgresCluster:
    """Start the process's cluster on first call; later calls return it (or re-raise)."""
    global _shared, _failure
    with _shared_lock:
        if _shared is None and _failure is None:
            try:
                _shared = PostgresCluster.start()
                atexit.register(stop_shared_cluster)
            except (PostgresUnavailable, OSError, subprocess.SubprocessError) as exc:
                _failure = str(exc)
        if _shared is None:
            raise PostgresUnavailable(_failure or "PostgreSQL is not available")
        return _shared


def stop_shared_cluster() -> None:
    global _shared
    with _shared_lock:
        if _shared is not None:
            _shared.stop()
            _shared = None


def migrate_url(url: str) -> None:
    database = Database(url)
    try:
        upgrade(database)
    finally:
        database.close()


_sqlite_template_dir: Path | None = None


def migrated_sqlite_file(target: Path) -> None:
    """Copy a migrated SQLite file (made once per process) to `target`."""
    global _sqlite_template_dir
    with _shared_lock:
        if _sqlite_template_dir is None:
            folder = Path(tempfile.mkdtemp(prefix="causerie-sqlite-"))
            atexit.register(shutil.rmtree, folder, True)
            migrate_url(f"sqlite:///{folder / 'causerie.db'}")  # closed: WAL checkpointed
            _sqlite_template_dir = folder
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_sqlite_template_dir / "causerie.db", target)


# -- fixtures ------------------------------------------------------------------------------


def require_cluster() -> PostgresCluster:
    """The shared cluster, or the test fails (CI=true) or skips (elsewhere) saying why."""
    try:
        return shared_cluster()
    except PostgresUnavailable as exc:
        if in_ci():
            pytest.fail(f"PostgreSQL is required in CI: {exc}", pytrace=False)
        pytest.skip(f"PostgreSQL unavailable: {exc}")


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """The test run's PostgreSQL cluster; fails under CI=true when it cannot start."""
    yield require_cluster()
    stop_shared_cluster()


@pytest.fixture(params=BACKENDS)
def database_backend(request: pytest.FixtureRequest) -> str:
    """ "sqlite" or "postgresql": every test using the fixtures below runs on both."""
    return str(request.param)


@pytest.fixture
def database_url(
    database_backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[str]:
    """The URL of a fresh, empty database (no tables: migrations not applied)."""
    if database_backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'causerie.db'}"
        return
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    name = cluster.create_database()
    yield cluster.url(name)
    cluster.drop_database(name)


@pytest.fixture
def migrated_database_url(
    database_backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[str]:
    """The URL of an empty database at the newest schema revision (reused: no DDL on it)."""
    if database_backend == "sqlite":
        path = tmp_path / "causerie.db"
        migrated_sqlite_file(path)
        yield f"sqlite:///{path}"
        return
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    name = cluster.checkout("migrated", migrate_url)
    yield cluster.url(name)
    cluster.checkin("migrated", name)


@pytest.fixture
def db(migrated_database_url: str) -> Iterator[Database]:
    """A `Database` on a fresh, migrated database; closed at the end of the test."""
    database = Database(migrated_database_url)
    yield database
    database.close()
