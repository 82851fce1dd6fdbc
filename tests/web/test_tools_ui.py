"""Tools in the browser with the real bundled model: enable one in the conversation's
settings, force it for a message from the composer, watch its block appear (name,
arguments, result as text), and find it all again after a reload."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.web.conftest import OpenPage, WebApp
from tests.web.harness import screenshot
from tests.web.test_chat import wait_until_answered

pytestmark = pytest.mark.slow


def test_enable_force_show_and_reload(open_page: OpenPage, web_app: WebApp) -> None:
    page = open_page("/")
    page.get_by_role("button", name="Conversation settings").click()
    dialog = page.get_by_role("dialog", name="Conversation settings")
    dialog.get_by_label("Maximum answer length (tokens)").fill("120")
    calculator = dialog.get_by_label("Calculator")
    expect(dialog.get_by_label("Python interpreter")).not_to_be_checked()
    calculator.check()
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_have_count(0)

    picker = page.get_by_label("Use a tool for this message")
    picker.select_option("calculator")
    composer = page.get_by_role("textbox", name="Message")
    composer.fill("What is 12 times 7?")
    composer.press("Enter")
    block = page.locator(".msg--tool").first
    expect(block).to_be_visible(timeout=150_000)
    wait_until_answered(page)
    expect(picker).to_have_value("")  # forcing lasts one message
    expect(block.locator("summary")).to_contain_text("Tool: Calculator")
    block.locator("summary").click()
    expect(block.get_by_text("Arguments sent")).to_be_visible()
    arguments = block.locator(".toolblock__arguments")
    expect(arguments).to_contain_text('"expression"')
    result = block.locator(".toolblock__result")
    expect(result).not_to_be_empty()
    assert result.evaluate("el => el.children.length") == 0  # text only, never HTML
    shown = result.text_content()
    screenshot(page, "tool-block")

    conversation_id = page.url.rstrip("/").split("/")[-1]
    stored = web_app.client().get(f"/api/conversations/{conversation_id}").json()
    assert stored["params"]["tools"] == ["calculator"]
    tool_messages = [m for m in stored["messages"] if m["role"] == "tool"]
    assert tool_messages and tool_messages[0]["content"] == shown

    page.reload()
    again = page.locator(".msg--tool").first
    expect(again).to_be_visible(timeout=30_000)
    again.locator("summary").click()
    expect(again.locator(".toolblock__result")).to_have_text(shown or "")
    expect(page.locator(".msg--assistant").last).to_be_visible()
    page.get_by_role("button", name="Conversation settings").click()
    dialog = page.get_by_role("dialog", name="Conversation settings")
    expect(dialog.get_by_label("Calculator")).to_be_checked()
