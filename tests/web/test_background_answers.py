"""Answers go on in the background, in the browser with the real bundled model: opening
another conversation or a new chat mid-answer does not stop it (the server saves it whole,
and its new title reaches the sidebar); coming back while it streams shows it live again,
with a working Stop; Stop (and Esc) stop only the conversation on screen; the sidebar
marks the conversations still answering."""

from __future__ import annotations

import time
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.web.conftest import OpenPage, WebApp
from tests.web.seed import seed_conversation
from tests.web.test_chat import ANSWER_TIMEOUT, STREAMING_TEXT, copied

pytestmark = pytest.mark.slow

LONG_WAIT = 240_000  # ms: a 600-token answer on two busy cores
STORY = "Tell me a very long story about a dragon, a knight and a village."
ANSWERING = "Still answering"
# the last answer has grown past `n` characters, still streaming or just ended
LONGER_THAN = """(n) => {
  const all = document.querySelectorAll('.msg--assistant .msg__content');
  const m = all[all.length - 1];
  return m !== undefined && m.textContent.trim().length > n;
}"""


def conversation(web_app: WebApp, max_tokens: int) -> str:
    """An untitled conversation whose answers are greedy (long and steady) and at most
    `max_tokens` long."""
    response = web_app.client().send(
        "POST",
        "/api/conversations",
        json={"title": "", "params": {"max_tokens": max_tokens, "temperature": 0}},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def last_answer(web_app: WebApp, conversation_id: str, *, timeout: float = 0) -> dict[str, Any]:
    """The stored last message of the conversation, once it is no longer streaming (or at
    once when `timeout` is 0)."""
    client = web_app.client()
    deadline = time.monotonic() + timeout
    while True:
        conv = client.get(f"/api/conversations/{conversation_id}").json()
        last: dict[str, Any] = conv["messages"][-1]
        if last["status"] != "streaming" or time.monotonic() > deadline:
            return {**last, "title": conv["title"]}
        time.sleep(0.3)


def item(page: Any, conversation_id: str) -> Any:
    return page.locator(f'.conv-item[data-id="{conversation_id}"]')


def send(page: Any, text: str) -> None:
    composer = page.get_by_role("textbox", name="Message")
    composer.fill(text)
    composer.press("Enter")
    expect(composer).to_have_value("")


def test_an_answer_goes_on_elsewhere_and_shows_live_on_return(
    open_page: OpenPage, web_app: WebApp
) -> None:
    story = conversation(web_app, 600)  # long enough to still stream after the visit
    other, _ = seed_conversation(
        web_app.db_url, web_app.admin_id, "Elsewhere", [("user", "Hi"), ("assistant", "Hello!")]
    )
    page = open_page(f"/c/{story}")
    send(page, STORY)
    page.wait_for_function(STREAMING_TEXT % 15, timeout=ANSWER_TIMEOUT)

    # another conversation: free to use, while the sidebar says the story is still answering
    item(page, other).get_by_role("link").click()
    expect(page.locator(".topbar__title")).to_have_text("Elsewhere")
    expect(page.locator(".msg.is-streaming")).to_have_count(0)
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    spinner = item(page, story).get_by_role("img", name=ANSWERING)
    expect(spinner).to_be_visible()
    expect(spinner).to_have_attribute("title", ANSWERING)
    expect(item(page, other).locator(".conv-item__answering")).to_have_count(0)

    # back: the answer so far, then the rest as it comes
    item(page, story).get_by_role("link").click()
    streaming = page.locator(".msg--assistant.is-streaming .msg__content")
    expect(streaming).to_be_visible()
    expect(page.get_by_role("button", name="Stop the answer")).to_be_visible()
    seen = len(streaming.text_content() or "")
    assert seen > 15
    page.wait_for_function(LONGER_THAN, arg=seen + 10, timeout=ANSWER_TIMEOUT)

    expect(page.locator(".msg.is-streaming")).to_have_count(0, timeout=LONG_WAIT)
    answer = page.locator(".msg--assistant").last
    expect(answer).to_have_attribute("data-status", "complete", timeout=ANSWER_TIMEOUT)
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    expect(answer.get_by_text("Stopped")).to_have_count(0)
    expect(item(page, story).locator(".conv-item__answering")).to_have_count(0)
    assert last_answer(web_app, story)["status"] == "complete"


def test_an_answer_left_behind_is_saved_whole_and_titled(
    open_page: OpenPage, web_app: WebApp
) -> None:
    story = conversation(web_app, 40)
    page = open_page(f"/c/{story}")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=web_app.url)
    send(page, STORY)
    page.wait_for_function(STREAMING_TEXT % 0, timeout=ANSWER_TIMEOUT)

    # a new chat mid-answer: the story goes on, and ends, in the background
    page.get_by_role("button", name="New chat", exact=True).click()
    expect(page.locator(".topbar__title")).to_have_text("New chat")
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    expect(item(page, story).locator(".conv-item__answering")).to_have_count(
        0, timeout=ANSWER_TIMEOUT
    )
    stored = last_answer(web_app, story, timeout=20)
    assert stored["status"] == "complete", stored
    assert stored["content"].strip()
    # its title, given at the end of the answer, reached the sidebar
    assert stored["title"]
    expect(item(page, story).locator(".conv-item__title")).to_have_text(stored["title"])

    # opened again: the whole answer, as saved
    item(page, story).get_by_role("link").click()
    answer = page.locator(".msg--assistant").last
    expect(answer).to_have_attribute("data-status", "complete")
    expect(answer.get_by_text("Stopped")).to_have_count(0)
    expect(page.locator(".msg.is-streaming")).to_have_count(0)
    assert copied(page, answer, stored["content"]) == stored["content"]


def test_stop_stops_only_the_conversation_on_screen(open_page: OpenPage, web_app: WebApp) -> None:
    first = conversation(web_app, 900)
    second = conversation(web_app, 300)
    page = open_page(f"/c/{first}")
    send(page, STORY)
    page.wait_for_function(STREAMING_TEXT % 0, timeout=ANSWER_TIMEOUT)

    # one answer per conversation: a second one can be asked elsewhere, and Esc stops it alone
    item(page, second).get_by_role("link").click()
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    send(page, "Tell me a long story about a cat and a mouse.")
    page.wait_for_function(STREAMING_TEXT % 5, timeout=ANSWER_TIMEOUT)
    page.keyboard.press("Escape")
    stopped = page.locator(".msg--assistant").last
    expect(stopped.locator(".msg__note")).to_have_text("Stopped")
    expect(item(page, second).locator(".conv-item__answering")).to_have_count(0)
    expect(item(page, first).get_by_role("img", name=ANSWERING)).to_be_visible()
    assert last_answer(web_app, second, timeout=20)["status"] == "interrupted"
    assert last_answer(web_app, first)["status"] == "streaming"

    # back to the first: still answering, and its Stop button stops it
    item(page, first).get_by_role("link").click()
    expect(page.locator(".msg--assistant.is-streaming")).to_have_count(1)
    page.get_by_role("button", name="Stop the answer").click()
    stopped = page.locator(".msg--assistant").last
    expect(stopped.locator(".msg__note")).to_have_text("Stopped")
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    expect(item(page, first).locator(".conv-item__answering")).to_have_count(0)
    assert last_answer(web_app, first, timeout=20)["status"] == "interrupted"
