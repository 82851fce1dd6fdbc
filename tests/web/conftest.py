"""Fixtures of the browser tests: one real `causerie serve` (bundled model, SQLite) for the
session with its administrator made through the API, one Chromium, and `open_page`, which
opens a guarded page (see harness.Guard) already logged in."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Server, start_server, stop_server
from tests.support.web import Browser
from tests.web.harness import (
    LAUNCH_ARGS,
    PASSWORD,
    WATCH_SCRIPT,
    Guard,
    chromium_or_skip,
    origin_of,
    playwright_or_skip,
    reset_artifacts,
)

ADMIN_EMAIL = "ada@example.com"


@dataclass
class WebApp:
    url: str
    db_url: str
    data_dir: Path
    admin_id: str
    server: Server

    def client(self, email: str = ADMIN_EMAIL, password: str = PASSWORD) -> Browser:
        client = Browser(self.url)
        response = client.login(email, password)
        assert response.status_code == 200, response.text
        return client


def serve(folder: Path) -> tuple[Server, str]:
    db_url = f"sqlite:///{folder / 'causerie.db'}"
    server = start_server(
        folder, "--ctx-size", "1024", "--parallel", "2", "--database-url", db_url
    )  # fmt: skip
    return server, db_url


@dataclass
class Chromium:
    """The session's Chromium and the event loop of the Playwright that drives it."""

    browser: Any
    loop: asyncio.AbstractEventLoop


@pytest.fixture(scope="session")
def chromium() -> Iterator[Chromium]:
    """One Playwright and one Chromium for the whole run. Playwright's sync API marks its
    event loop as this thread's running loop between its calls, so that any later
    `asyncio.run()` (a test outside tests/web) would fail: the mark is lifted here and set
    again only while a test holds `browser`."""
    sync_playwright = playwright_or_skip()
    executable = chromium_or_skip()
    reset_artifacts()
    manager = sync_playwright().start()
    loop = asyncio.get_running_loop()  # Playwright's own loop, marked running by start()
    try:
        launched = manager.chromium.launch(executable_path=executable, args=LAUNCH_ARGS)
    except BaseException:
        manager.stop()
        raise
    asyncio._set_running_loop(None)
    try:
        yield Chromium(launched, loop)
    finally:
        asyncio._set_running_loop(loop)  # its calls run its loop, which must look running
        try:
            launched.close()
        finally:
            manager.stop()  # lifts the mark again


@pytest.fixture
def browser(chromium: Chromium) -> Iterator[Any]:
    """The shared Chromium, with Playwright's loop marked running for this test only."""
    before = asyncio._get_running_loop()
    asyncio._set_running_loop(chromium.loop)
    try:
        yield chromium.browser
    finally:
        asyncio._set_running_loop(before)


@pytest.fixture(scope="session")
def web_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebApp]:
    folder = tmp_path_factory.mktemp("web")
    server, db_url = serve(folder)
    try:
        admin = Browser(server.url)
        response = admin.signup(ADMIN_EMAIL, PASSWORD, "Ada Lovelace")
        assert response.status_code == 201, response.text
        yield WebApp(server.url, db_url, folder, admin.user["id"], server)
    finally:
        stop_server(server)


OpenPage = Callable[..., Any]


@pytest.fixture
def open_page(browser: Any, web_app: WebApp) -> Iterator[OpenPage]:
    """open_page(path="/", email=admin, viewport=(w, h), locale="en-US", login=True)"""
    opened: list[tuple[Any, Any, Guard]] = []

    def _open(
        path: str = "/",
        *,
        email: str | None = ADMIN_EMAIL,
        password: str = PASSWORD,
        viewport: tuple[int, int] = (1280, 800),
        locale: str = "en-US",
        color_scheme: str = "light",
        url: str | None = None,
    ) -> Any:
        base = url or web_app.url
        context = browser.new_context(
            base_url=base,
            viewport={"width": viewport[0], "height": viewport[1]},
            locale=locale,
            color_scheme=color_scheme,
        )
        context.add_init_script(WATCH_SCRIPT)
        page = context.new_page()
        guard = Guard(origin_of(base))
        guard.attach(page)
        opened.append((context, page, guard))
        if email is not None:
            response = page.request.post(
                "/api/auth/login", data={"email": email, "password": password}
            )
            assert response.ok, response.text()
        page.goto(path)
        return page

    yield _open
    try:
        for _, page, guard in opened:
            guard.check(page)
    finally:
        for context, _, _ in opened:
            context.close()
