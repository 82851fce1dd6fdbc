"""A conversation with the real bundled model in the browser: the answer streams in, Esc
stops it, regenerate and edit make branches that the ‹ n/m › switcher walks, copy; a
prompt too long for the model is refused in place and offers to edit it (not a Retry that
could only fail again); an answer cut at its length limit says so."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.web.conftest import OpenPage, WebApp
from tests.web.harness import screenshot
from tests.web.seed import seed_conversation

pytestmark = pytest.mark.slow

ANSWER_TIMEOUT = 150_000  # ms: the bundled model on two busy cores
STREAMING_TEXT = """() => {
  const m = document.querySelector('.msg--assistant.is-streaming .msg__content');
  return m !== null && m.textContent.trim().length > %d;
}"""


def set_max_tokens(page: Any, tokens: int) -> None:
    page.get_by_role("button", name="Conversation settings").click()
    dialog = page.get_by_role("dialog", name="Conversation settings")
    dialog.get_by_label("Maximum answer length (tokens)").fill(str(tokens))
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_have_count(0)


def stored_answer(web_app: WebApp, conversation_id: str, status: str) -> str:
    """The last answer of the conversation's active branch, once the server closed it."""
    client = web_app.client()
    deadline = time.monotonic() + 20
    while True:
        messages = client.get(f"/api/conversations/{conversation_id}").json()["messages"]
        last = messages[-1]
        if last["status"] == status or time.monotonic() > deadline:
            assert last["status"] == status, last
            return str(last["content"])
        time.sleep(0.2)


def copied(page: Any, message: Any, expected: str | None = None) -> str:
    """What the message's Copy button puts on the clipboard (its stored markdown); waits a
    little for the page to settle on `expected` when given."""
    deadline = time.monotonic() + 10
    while True:
        message.hover()
        message.get_by_role("button", name="Copy").click()
        text = str(page.evaluate("navigator.clipboard.readText()"))
        if expected is None or text == expected or time.monotonic() > deadline:
            return text
        time.sleep(0.2)


def wait_until_answered(page: Any) -> Any:
    expect(page.locator(".msg.is-streaming")).to_have_count(0, timeout=ANSWER_TIMEOUT)
    expect(page.get_by_role("button", name="Send")).to_be_visible(timeout=ANSWER_TIMEOUT)
    return page.locator(".msg--assistant").last


def test_stream_stop_regenerate_edit_and_branches(open_page: OpenPage, web_app: WebApp) -> None:
    page = open_page("/")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=web_app.url)
    composer = page.get_by_role("textbox", name="Message")
    expect(composer).to_be_focused()
    expect(page.get_by_label("Model")).to_have_value("smollm2-135m")
    set_max_tokens(page, 40)

    # Shift+Enter adds a line, Enter sends
    composer.fill("Say hello")
    composer.press("Shift+Enter")
    composer.press_sequentially("in one short sentence.")
    assert composer.input_value() == "Say hello\nin one short sentence."
    expect(page.locator(".msg")).to_have_count(0)
    composer.press("Enter")
    expect(composer).to_have_value("")

    # the answer streams in: it has text while it is still being written
    page.wait_for_function(STREAMING_TEXT % 0, timeout=ANSWER_TIMEOUT)
    expect(page.get_by_role("button", name="Stop the answer")).to_be_visible()
    screenshot(page, "04-chat-streaming")
    answer = wait_until_answered(page)
    expect(page).to_have_url(re.compile(r"/c/[0-9a-f]{32}$"))
    expect(answer.locator(".msg__stats")).to_contain_text(
        re.compile(r"\d+ tokens? · [\d.,]+ tokens/s")
    )
    assert answer.locator(".msg__content").inner_text().strip()
    expect(page.locator(".conv-item.is-active")).to_have_count(1)

    # copy a message
    assert copied(page, page.locator(".msg--user").first) == "Say hello\nin one short sentence."

    # Esc stops an answer mid-way; the partial text stays, marked as stopped
    set_max_tokens(page, 400)
    composer.fill("Tell me a very long story about a dragon, a knight and a village.")
    composer.press("Enter")
    page.wait_for_function(STREAMING_TEXT % 15, timeout=ANSWER_TIMEOUT)
    page.keyboard.press("Escape")
    stopped = page.locator(".msg--assistant").last
    expect(stopped.locator(".msg__note")).to_have_text("Stopped")
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    # the server keeps the partial answer (a few tokens may land after the stop) and the
    # page shows what it kept
    partial = stored_answer(web_app, page.url.rsplit("/", 1)[1], "interrupted")
    assert len(partial.strip()) > 15
    expect(stopped).to_have_attribute("data-status", "interrupted")
    assert copied(page, stopped, partial) == partial

    # regenerate: a second answer beside the stopped one, and the switcher walks them
    set_max_tokens(page, 24)
    stopped.hover()
    stopped.get_by_role("button", name="Regenerate").click()
    regenerated = wait_until_answered(page)
    expect(regenerated.locator(".branch__label")).to_have_text("2/2")
    regenerated.get_by_role("button", name="Previous version").click()
    first = page.locator(".msg--assistant").last
    expect(first.locator(".branch__label")).to_have_text("1/2")
    assert copied(page, first, partial) == partial
    expect(first.get_by_role("group", name="Version 1 of 2")).to_be_visible()
    screenshot(page, "05-chat-branches")
    first.get_by_role("button", name="Next version").click()
    expect(page.locator(".msg--assistant").last.locator(".branch__label")).to_have_text("2/2")

    # edit the first message: a new branch from the start of the conversation
    opening = page.locator(".msg--user").first
    opening.hover()
    opening.get_by_role("button", name="Edit").click()
    editor = page.get_by_role("textbox", name="Edit your message")
    expect(editor).to_have_value("Say hello\nin one short sentence.")
    editor.fill("Say goodbye in one short sentence.")
    editor.press("Enter")
    wait_until_answered(page)
    expect(page.locator(".msg")).to_have_count(2)
    opening = page.locator(".msg--user").first
    expect(opening.locator(".msg__bubble")).to_have_text("Say goodbye in one short sentence.")
    expect(opening.locator(".branch__label")).to_have_text("2/2")
    opening.get_by_role("button", name="Previous version").click()
    expect(page.locator(".msg")).to_have_count(4)
    expect(page.locator(".msg--user").first.locator(".msg__bubble")).to_have_text(
        "Say hello\nin one short sentence."
    )
    expect(page.locator(".msg--user").first.locator(".branch__label")).to_have_text("1/2")

    # everything is stored: a reload shows the same branch
    page.reload()
    expect(page.locator(".msg")).to_have_count(4)
    expect(page.locator(".msg--assistant").last.locator(".branch__label")).to_have_text("2/2")
    screenshot(page, "06-chat-light")


def test_a_prompt_too_long_for_the_model_offers_to_edit_it(open_page: OpenPage) -> None:
    page = open_page("/")
    set_max_tokens(page, 8)
    composer = page.get_by_role("textbox", name="Message")
    # far longer than the server's 1,024-token context: the engine refuses it
    long_text = ("word " * 3000).strip()
    composer.fill(long_text)
    composer.press("Enter")
    answer = page.locator(".msg--assistant").last
    alert = answer.locator(".msg__error")
    expect(alert).to_be_visible(timeout=ANSWER_TIMEOUT)
    expect(alert).to_have_attribute("role", "alert")
    expect(alert).to_contain_text("maximum context length")
    expect(alert).to_contain_text("Too long for this model.")
    # the same request could only fail again: no Retry, no Regenerate, nothing to copy
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    answer.hover()
    expect(alert.get_by_role("button", name="Retry")).to_have_count(0)
    expect(answer.get_by_role("button", name="Regenerate")).to_have_count(0)
    expect(answer.get_by_role("button", name="Copy")).to_have_count(0)
    # the server took the message: it is in the thread, where it can be edited
    expect(composer).to_have_value("")
    expect(page.locator(".msg--user")).to_have_count(1)
    screenshot(page, "07-chat-error")

    alert.get_by_role("button", name="Edit the message").click()
    editor = page.get_by_role("textbox", name="Edit your message")
    expect(editor).to_be_focused()
    assert editor.input_value() == long_text
    editor.fill("Say hi.")
    editor.press("Enter")
    answer = wait_until_answered(page)
    expect(answer).to_have_attribute("data-status", "complete", timeout=ANSWER_TIMEOUT)
    expect(page.locator(".msg--user .branch__label")).to_have_text("2/2")

    # stored with its code: after a reload the refused answer still offers no Retry
    page.reload()
    opening = page.locator(".msg--user").first
    opening.get_by_role("button", name="Previous version").click()
    expect(page.locator(".msg--user .branch__label")).to_have_text("1/2")
    alert = page.locator(".msg--assistant").last.locator(".msg__error")
    expect(alert).to_contain_text("Too long for this model.")
    expect(alert.get_by_role("button", name="Retry")).to_have_count(0)
    expect(alert.get_by_role("button", name="Edit the message")).to_be_visible()


def test_an_answer_cut_at_the_length_limit_says_so(open_page: OpenPage) -> None:
    page = open_page("/")
    set_max_tokens(page, 4)
    composer = page.get_by_role("textbox", name="Message")
    composer.fill("Tell me a very long story about a dragon, a knight and a village.")
    composer.press("Enter")
    expect(page.locator(".msg--assistant")).to_have_count(1, timeout=ANSWER_TIMEOUT)
    answer = wait_until_answered(page)
    expect(answer).to_have_attribute("data-status", "complete", timeout=ANSWER_TIMEOUT)
    expect(answer.locator(".msg__note")).to_have_text("Answer cut at the length limit")
    page.reload()
    answer = page.locator(".msg--assistant").last
    expect(answer.locator(".msg__note")).to_have_text("Answer cut at the length limit")


def test_a_message_sent_while_a_conversation_opens_goes_to_it(
    open_page: OpenPage, web_app: WebApp
) -> None:
    """Typed and sent before the conversation just clicked has loaded: the message waits
    for it, and goes neither to the conversation on screen before nor to a new one."""
    before, _ = seed_conversation(
        web_app.db_url, web_app.admin_id, "Shown before", [("user", "Hi"), ("assistant", "Hey.")]
    )
    target, _ = seed_conversation(
        web_app.db_url, web_app.admin_id, "Clicked", [("user", "Yo"), ("assistant", "Hello!")]
    )
    client = web_app.client()
    client.send("PATCH", f"/api/conversations/{target}", json={"params": {"max_tokens": 6}})
    page = open_page(f"/c/{before}")
    expect(page.locator(".topbar__title")).to_have_text("Shown before")
    held: list[Any] = []  # the clicked conversation's first GET, answered once the user sent

    def hold_the_first(route: Any) -> None:
        if held:
            route.continue_()
        else:
            held.append(route)

    page.route(f"**/api/conversations/{target}", hold_the_first)
    page.locator(f'.conv-item[data-id="{target}"]').get_by_role("link").click()
    page.wait_for_function(f"location.pathname === '/c/{target}'")
    composer = page.get_by_role("textbox", name="Message")
    composer.fill("Sent while it loads")
    composer.press("Enter")
    page.wait_for_timeout(300)  # the send must be waiting, not gone elsewhere
    assert len(held) == 1
    held[0].continue_()
    expect(page.locator(".topbar__title")).to_have_text("Clicked")
    expect(page.locator(".msg--user").last).to_contain_text("Sent while it loads")
    wait_until_answered(page)
    contents = [m["content"] for m in client.get(f"/api/conversations/{target}").json()["messages"]]
    assert "Sent while it loads" in contents
    contents = [m["content"] for m in client.get(f"/api/conversations/{before}").json()["messages"]]
    assert "Sent while it loads" not in contents
    listed = client.get("/api/search?q=loads").json()["data"]
    assert {hit["conversation_id"] for hit in listed} == {target}
