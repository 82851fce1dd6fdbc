"""The sidebar: conversations grouped by date, rename, pin, server-side search, delete with
confirmation, personas, and collapsing it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.web.conftest import OpenPage, WebApp
from tests.web.harness import screenshot
from tests.web.seed import seed_conversation

pytestmark = pytest.mark.slow


def test_group_rename_pin_search_and_delete(open_page: OpenPage, web_app: WebApp) -> None:
    now = datetime.now(UTC)
    user = web_app.admin_id
    seed_conversation(
        web_app.db_url,
        user,
        "Trip to Lisbon",
        [("user", "Plan a trip"), ("assistant", "Day one: the tram 28.")],
        updated_at=now - timedelta(days=1),
    )
    seed_conversation(
        web_app.db_url,
        user,
        "Sourdough",
        [("user", "Bread tips?"), ("assistant", "Feed the starter twice a day.")],
        updated_at=now - timedelta(days=12),
    )
    seed_conversation(
        web_app.db_url,
        user,
        "Old notes",
        [("user", "Hello"), ("assistant", "Hi!")],
        updated_at=now - timedelta(days=120),
    )
    target, _ = seed_conversation(
        web_app.db_url,
        user,
        "Quantum basics",
        [
            ("user", "Explain qubits with an aardvark"),
            ("assistant", "A **qubit** is like an aardvark in two burrows at once."),
        ],
    )

    page = open_page("/")
    sidebar = page.get_by_role("complementary", name="Sidebar")
    for heading in ("Today", "Yesterday", "Previous 30 days"):
        expect(sidebar.get_by_role("heading", name=heading)).to_be_visible()
    expect(
        sidebar.get_by_role("heading", name=re.compile(r"\d{4}$")).first
    ).to_be_visible()  # a month
    screenshot(page, "10-sidebar")

    # rename from the item's menu
    item = page.locator(f'.conv-item[data-id="{target}"]')
    item.get_by_role("button", name="Options for Quantum basics").click()
    page.get_by_role("menuitem", name="Rename").click()
    title = page.get_by_role("textbox", name="New title")
    title.fill("Qubits for beginners")
    title.press("Enter")
    expect(item).to_contain_text("Qubits for beginners")
    item.get_by_role("link").click()
    expect(page.locator(".topbar__title")).to_have_text("Qubits for beginners")

    # pin it: it moves to the Pinned group
    item.get_by_role("button", name="Options for Qubits for beginners").click()
    page.get_by_role("menuitem", name="Pin").click()
    pinned = sidebar.get_by_role("region", name="Pinned")
    expect(pinned.locator(".conv-item")).to_have_count(1)
    expect(pinned).to_contain_text("Qubits for beginners")

    # search runs on the server over message text, with the matches marked
    search = page.get_by_role("searchbox", name="Search chats")
    search.fill("aardvark")
    hit = page.locator(".search-hit").first
    expect(hit).to_contain_text("Qubits for beginners")
    expect(hit.locator("mark").first).to_have_text(re.compile("aardvark", re.I))
    screenshot(page, "11-search")
    search.fill("nothingmatchesthisword")
    expect(page.get_by_text("No matching messages.")).to_be_visible()
    search.press("Escape")
    expect(page.locator(".search-hit")).to_have_count(0)

    # delete asks first; Cancel keeps it, Delete removes it and leaves the conversation
    item.get_by_role("button", name="Options for Qubits for beginners").click()
    page.get_by_role("menuitem", name="Delete").click()
    dialog = page.get_by_role("dialog", name="Delete this conversation?")
    expect(dialog).to_contain_text("Qubits for beginners")
    screenshot(page, "12-delete-confirmation")
    dialog.get_by_role("button", name="Cancel").click()
    expect(item).to_be_visible()
    item.get_by_role("button", name="Options for Qubits for beginners").click()
    page.get_by_role("menuitem", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(item).to_have_count(0)
    expect(page).to_have_url(f"{web_app.url}/")
    assert web_app.client().get(f"/api/conversations/{target}").status_code == 404


def test_personas_and_a_collapsible_sidebar(open_page: OpenPage) -> None:
    page = open_page("/")
    page.get_by_role("button", name="Manage personas").click()
    dialog = page.get_by_role("dialog", name="Manage personas")
    dialog.get_by_role("button", name="New persona").click()
    dialog.get_by_label("Name").fill("Pirate")
    dialog.get_by_label("Description").fill("Answers like a pirate.")
    dialog.get_by_label("System prompt").fill("You are a pirate. Answer like one.")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.locator(".persona-admin__row", has_text="Pirate")).to_be_visible()
    screenshot(page, "13-personas")
    dialog.get_by_role("button", name="Close").click()

    page.locator(".persona-item", has_text="Pirate").click()
    expect(page.locator(".empty__title")).to_have_text("Pirate")
    expect(page.locator(".empty__lead")).to_have_text("Answers like a pirate.")
    page.get_by_role("button", name="Conversation settings").click()
    expect(page.get_by_role("dialog")).to_contain_text("Persona: Pirate")
    page.keyboard.press("Escape")

    # the sidebar collapses and comes back
    page.get_by_role("button", name="Close sidebar").click()
    expect(page.locator(".shell")).to_have_class(re.compile("shell--collapsed"))
    expect(page.get_by_role("button", name="Open sidebar")).to_be_visible()
    screenshot(page, "14-sidebar-collapsed")
    page.get_by_role("button", name="Open sidebar").click()
    expect(page.get_by_role("searchbox", name="Search chats")).to_be_visible()
