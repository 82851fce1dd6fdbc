"""Accounts in the browser: the first-run administrator setup, logout, login, sign-up, and
a wrong password answered in place."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import Server, stop_server
from tests.web.conftest import OpenPage, serve
from tests.web.harness import PASSWORD, screenshot

pytestmark = pytest.mark.slow


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[Server]:
    """A server nobody has set up yet."""
    server, _ = serve(tmp_path)
    yield server
    stop_server(server)


def fill_account(page: Any, email: str, name: str | None = None) -> None:
    if name is not None:
        page.get_by_label("Name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)


def test_first_run_setup_then_logout_login_and_signup(
    open_page: OpenPage, fresh_server: Server
) -> None:
    page = open_page("/", email=None, url=fresh_server.url)
    expect(page.get_by_role("heading", name="Set up Causerie")).to_be_visible()
    expect(page).to_have_url(f"{fresh_server.url}/setup")
    screenshot(page, "01-first-run-setup")
    fill_account(page, "root@example.com", "Grace Hopper")
    page.get_by_role("button", name="Create the administrator account").click()
    expect(page.get_by_role("textbox", name="Message")).to_be_focused()
    expect(page.locator(".account__name")).to_have_text("Grace Hopper")
    assert page.evaluate("document.cookie") == "", "the session cookie must be HttpOnly"
    assert page.evaluate("Object.keys(localStorage)") in ([], ["causerie.theme"])

    # the administrator's menu: settings, administration, log out
    page.locator(".account").click()
    expect(page.get_by_role("menuitem", name="Administration")).to_be_visible()
    page.get_by_role("menuitem", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page).to_have_url(f"{fresh_server.url}/login")

    # a wrong password is said in place
    page.get_by_label("Email").fill("root@example.com")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    screenshot(page, "02-login-error")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".account__name")).to_have_text("Grace Hopper")
    page.reload()
    expect(page.locator(".account__name")).to_have_text("Grace Hopper")  # the cookie session

    # someone else signs up (sign-up is open) and is an ordinary user
    other = open_page("/login", email=None, url=fresh_server.url)
    other.get_by_role("button", name="Sign up").click()
    expect(other.get_by_role("heading", name="Create an account")).to_be_visible()
    screenshot(other, "03-signup")
    fill_account(other, "bob@example.com", "Bob")
    other.get_by_role("button", name="Create account").click()
    expect(other.locator(".account__name")).to_have_text("Bob")
    other.locator(".account").click()
    expect(other.get_by_role("menuitem", name="Settings")).to_be_visible()
    expect(other.get_by_role("menuitem", name="Administration")).to_have_count(0)
    other.keyboard.press("Escape")
    other.goto("/admin")  # not for ordinary users
    expect(other).to_have_url(f"{fresh_server.url}/")
