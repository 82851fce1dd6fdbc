"""Keyboard and access: every control has a name, focus is visible, the app works at a
375 px phone width (no sideways scrolling, the sidebar as a drawer)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.web.conftest import OpenPage, WebApp
from tests.web.harness import screenshot
from tests.web.seed import seed_conversation

pytestmark = pytest.mark.slow

# Buttons, fields and links without an accessible name (text, aria-label or a <label>).
UNNAMED = """() => {
  const unnamed = [];
  for (const el of document.querySelectorAll('button, a[href], input, select, textarea, [role=tab], [role=menuitem]')) {
    if (el.closest('[hidden], [inert]') || el.type === 'hidden') continue;
    const named = (el.getAttribute('aria-label') || '').trim() || (el.textContent || '').trim()
      || (el.labels && el.labels.length) || el.getAttribute('aria-labelledby') || el.title;
    if (!named) unnamed.push(el.outerHTML.slice(0, 120));
  }
  return unnamed;
}"""

# The focused element (or the box around a bare field) shows an outline or a ring.
FOCUS_RING = """() => {
  const ring = (s) => (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none';
  const el = document.activeElement;
  const box = el.closest('.sidebar__search');
  return el !== document.body && (ring(getComputedStyle(el)) || (box !== null && ring(getComputedStyle(box))));
}"""


def test_every_control_is_named_and_focus_is_visible(open_page: OpenPage, web_app: WebApp) -> None:
    seed_conversation(
        web_app.db_url,
        web_app.admin_id,
        "Named things",
        [("user", "Hi"), ("assistant", "Hello **there**.\n\n```sh\nls\n```")],
    )
    page = open_page("/")
    page.locator(".conv-item", has_text="Named things").get_by_role("link").click()
    expect(page.locator(".msg--assistant")).to_have_count(1)
    assert page.evaluate(UNNAMED) == []
    page.locator(".account").click()
    page.get_by_role("menuitem", name="Settings").click()
    for tab in ("General", "Personalisation", "API keys", "Account"):
        page.get_by_role("tab", name=tab).click()
        assert page.evaluate(UNNAMED) == [], tab
    page.keyboard.press("Escape")
    page.goto("/admin")
    expect(page.get_by_role("heading", name="Administration")).to_be_visible()
    assert page.evaluate(UNNAMED) == []

    # tabbing shows where the focus is
    page.goto("/")
    page.get_by_role("button", name="New chat").first.focus()
    for _ in range(8):
        page.keyboard.press("Tab")
        assert page.evaluate(FOCUS_RING), page.evaluate(
            "document.activeElement.outerHTML.slice(0, 120)"
        )


def test_a_phone_width_of_375_px(open_page: OpenPage, web_app: WebApp) -> None:
    conv, _ = seed_conversation(
        web_app.db_url,
        web_app.admin_id,
        "On the phone",
        [
            ("user", "A long line: " + "x" * 300),
            (
                "assistant",
                "A table:\n\n| a | b | c | d | e |\n|---|---|---|---|---|\n| 1111111111 | 2222222222 | 3333333333 | 4444444444 | 5555555555 |\n\n```python\nprint('a very long line of code that must scroll inside its own box and never the page')\n```",
            ),
        ],
    )
    page = open_page("/", viewport=(375, 812))
    expect(page.get_by_role("textbox", name="Message")).to_be_visible()
    expect(page.get_by_role("complementary", name="Sidebar")).not_to_be_in_viewport()
    screenshot(page, "20-phone-new-chat")

    page.get_by_role("button", name="Open sidebar").click()
    sidebar = page.get_by_role("complementary", name="Sidebar")
    expect(sidebar).to_be_in_viewport()
    screenshot(page, "21-phone-sidebar")
    sidebar.locator(".conv-item", has_text="On the phone").get_by_role("link").click()
    expect(sidebar).not_to_be_in_viewport()
    expect(page).to_have_url(f"{web_app.url}/c/{conv}")
    expect(page.locator(".msg")).to_have_count(2)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert page.evaluate(
        "document.querySelector('.thread').scrollWidth <= document.querySelector('.thread').clientWidth"
    )
    screenshot(page, "22-phone-conversation")

    page.locator(".account").evaluate("(el) => el.scrollIntoView()")
    page.get_by_role("button", name="Open sidebar").click()
    page.locator(".account").click()
    page.get_by_role("menuitem", name="Settings").click()
    expect(page.get_by_role("dialog", name="Settings")).to_be_in_viewport()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, "23-phone-settings")
