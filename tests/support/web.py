"""HTTP helpers for tests of the web app's API: a cookie-keeping 'browser' client that
sends the CSRF token like the UI does, and fresh databases on either backend."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from causerie.api.app import create_app
from causerie.api.metrics import Metrics
from causerie.core.settings import Settings
from causerie.engine.llamacpp.engine import EngineOptions, LlamaCppEngine
from causerie.engine.models import bundled_model_path, inspect_model
from causerie.store.db import Database
from tests.conftest import free_port, start_server, stop_server
from tests.support.fake_engine import ScriptedEngine
from tests.support.postgres import PostgresUnavailable, in_ci, shared_cluster

PASSWORD = "correct horse battery staple"
SERVER_KEY = "server-key-for-tests"


@contextmanager
def fresh_database(backend: str, folder: Path) -> Iterator[str]:
    """An empty database (the app migrates it at start-up)."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'causerie.db'}"
        return
    try:
        cluster = shared_cluster()
    except PostgresUnavailable as exc:
        if in_ci():
            pytest.fail(f"PostgreSQL is required in CI: {exc}", pytrace=False)
        pytest.skip(f"PostgreSQL unavailable: {exc}")
    name = cluster.create_database()
    try:
        yield cluster.url(name)
    finally:
        cluster.drop_database(name)


@contextmanager
def scripted_app(backend: str, folder: Path, **settings: Any) -> Iterator[TestClient]:
    """The app on the scripted engine and a fresh database of `backend`, in-process: its
    lifespan runs while the returned client is open."""
    with fresh_database(backend, folder) as url:
        db = Database(url)
        try:
            app = create_app(Settings(data_dir=folder, **settings), ScriptedEngine(), db=db)
            with TestClient(app) as http:
                yield http
        finally:
            db.close()


@contextmanager
def app_server(backend: str, folder: Path) -> Iterator[Any]:
    """A real `causerie serve` (bundled model, two slots) on a fresh database of `backend`."""
    with fresh_database(backend, folder) as url:
        server = start_server(
            folder, "--ctx-size", "1024", "--parallel", "2", "--database-url", url
        )
        try:
            yield server
        finally:
            stop_server(server)


class Browser:
    """An httpx client with a cookie jar that sends the CSRF token like the web app does."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=120)
        self.csrf: str | None = None
        self.user: dict[str, Any] = {}

    def _remember(self, response: httpx.Response) -> httpx.Response:
        json_body = response.headers.get("content-type", "").startswith("application/json")
        if response.is_success and json_body and "csrf_token" in response.json():
            self.csrf = response.json()["csrf_token"]
            self.user = response.json()["user"]
        return response

    def signup(self, email: str, password: str = PASSWORD, name: str = "") -> httpx.Response:
        body = {"email": email, "password": password, "name": name}
        return self._remember(self.http.post("/api/auth/signup", json=body))

    def login(self, email: str, password: str = PASSWORD) -> httpx.Response:
        body = {"email": email, "password": password}
        return self._remember(self.http.post("/api/auth/login", json=body))

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.get(path, **kw)

    def send(self, method: str, path: str, csrf: bool = True, **kw: Any) -> httpx.Response:
        headers = {"X-CSRF-Token": self.csrf} if csrf and self.csrf else {}
        return self._remember(self.http.request(method, path, headers=headers, **kw))

    @property
    def cookie(self) -> str | None:
        return self.http.cookies.get("causerie_session")


@dataclass
class LiveApp:
    url: str
    db_url: str

    @property
    def v1(self) -> str:
        return self.url + "/v1"


@contextmanager
def live_app(backend: str, folder: Path, **settings: Any) -> Iterator[LiveApp]:
    """`create_app` with the real bundled model and a fresh database, served by uvicorn
    on a free loopback port from a thread."""
    with fresh_database(backend, folder) as db_url:
        spec = inspect_model(bundled_model_path(), bundled=True)
        engine = LlamaCppEngine(spec, EngineOptions(ctx_size=512, parallel=2, threads=2))
        config = Settings(data_dir=folder, api_key=SERVER_KEY, **settings)  # type: ignore[arg-type]
        app = create_app(config, engine, Metrics(), Database(db_url))
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 60
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        try:
            yield LiveApp(f"http://127.0.0.1:{port}", db_url)
        finally:
            server.should_exit = True
            thread.join(30)
