"""The administrator's page: create a user who can then log in, change a role, disable an
account, close sign-up, and read the usage table."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.web.conftest import OpenPage, WebApp
from tests.web.harness import PASSWORD, screenshot

pytestmark = pytest.mark.slow


def test_admin_creates_a_user_and_manages_accounts(open_page: OpenPage, web_app: WebApp) -> None:
    page = open_page("/")
    page.locator(".account").click()
    page.get_by_role("menuitem", name="Administration").click()
    expect(page).to_have_url(f"{web_app.url}/admin")
    expect(page.get_by_role("heading", name="Administration")).to_be_visible()

    form = page.locator("form.grid-form")
    form.get_by_label("Name").fill("Emmy Noether")
    form.get_by_label("Email").fill("emmy@example.com")
    form.get_by_label("Password").fill(PASSWORD)
    form.get_by_role("button", name="Create user").click()
    row = page.locator('tr[data-email="emmy@example.com"]')
    expect(row).to_contain_text("Emmy Noether")
    expect(row.get_by_role("combobox", name="Role of emmy@example.com")).to_have_value("user")
    expect(page.locator("table").last.locator("tbody tr").first).to_be_visible()  # usage
    screenshot(page, "19-admin")

    # the new user logs in through the login form
    other = open_page("/login", email=None)
    other.get_by_label("Email").fill("emmy@example.com")
    other.get_by_label("Password").fill(PASSWORD)
    other.get_by_role("button", name="Log in").click()
    expect(other.locator(".account__name")).to_have_text("Emmy Noether")

    # promote, then disable: a disabled account cannot log in
    row.get_by_role("combobox", name="Role of emmy@example.com").select_option("admin")
    expect(page.get_by_role("status")).to_contain_text("Saved")
    client = web_app.client()
    users = {u["email"]: u for u in client.get("/api/admin/users").json()["data"]}
    assert users["emmy@example.com"]["role"] == "admin"
    row.get_by_role("checkbox", name="emmy@example.com is active").uncheck()
    expect(page.get_by_role("status")).to_contain_text("Saved")
    third = open_page("/login", email=None)
    third.get_by_label("Email").fill("emmy@example.com")
    third.get_by_label("Password").fill(PASSWORD)
    third.get_by_role("button", name="Log in").click()
    expect(third.get_by_role("alert")).to_be_visible()

    # close sign-up: the login screen stops offering it
    page.get_by_label("Anyone can create an account").uncheck()
    expect(page.get_by_role("status")).to_contain_text("Sign-up is closed")
    assert client.get("/api/auth/status").json()["signup_open"] is False
    visitor = open_page("/login", email=None)
    expect(visitor.get_by_role("heading", name="Log in")).to_be_visible()
    expect(visitor.get_by_role("button", name="Sign up")).to_have_count(0)
    page.get_by_label("Anyone can create an account").check()
    expect(page.get_by_role("status")).to_contain_text("Sign-up is open")
