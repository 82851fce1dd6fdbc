"""When the network fails, in the browser: a message the server never took goes back to
the composer (in a new chat and in an existing one), the error is said in the reader's
language (never the browser's "Failed to fetch"), a stream cut short says the connection
was lost, and the error and the unsent text stay with their conversation when another one
opens. Also what a new chat shows before its first answer: the persona's system prompt
and the "New chat" title. The failures are made by routing requests in the browser; no
answer of the model is needed."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.web.conftest import OpenPage, WebApp
from tests.web.harness import screenshot
from tests.web.seed import seed_conversation
from tests.web.test_settings import register

pytestmark = pytest.mark.slow

UNREACHABLE = "The server could not be reached. Check your connection and try again."
UNREACHABLE_FR = "Le serveur est injoignable. Vérifiez votre connexion et réessayez."
LOST = "The connection to the server was lost before the answer ended."
SEND = "**/api/conversations/*/messages"


def abort_posts(route: Any) -> None:
    """Cuts off POSTs (the server is unreachable for them); lets the rest through."""
    if route.request.method == "POST":
        route.abort()
    else:
        route.continue_()


def message(id_: str, parent: str | None, role: str, status: str) -> dict[str, Any]:
    return {
        "id": id_, "parent_id": parent, "role": role, "content": "Are you there?" if role == "user" else "",
        "status": status, "created_at": "2025-01-01T00:00:00Z", "model": "smollm2-135m",
        "error": None, "prompt_tokens": 0, "completion_tokens": 0, "duration_ms": 0,
        "sibling_ids": [id_], "sibling_count": 1, "sibling_position": 1, "meta": {},
    }  # fmt: skip


def test_an_unsent_message_stays_with_its_conversation(
    open_page: OpenPage, web_app: WebApp
) -> None:
    first, _ = seed_conversation(
        web_app.db_url,
        web_app.admin_id,
        "Unreachable one",
        [("user", "Hi"), ("assistant", "Hello!")],
    )
    second, _ = seed_conversation(
        web_app.db_url, web_app.admin_id, "Unreachable two", [("user", "Yo"), ("assistant", "Hey.")]
    )
    page = open_page(f"/c/{first}")
    composer = page.get_by_role("textbox", name="Message")
    expect(page.locator(".msg")).to_have_count(2)
    page.route(SEND, lambda route: route.abort())

    # the message is not lost: it is back in the composer, the error is ours
    composer.fill("Are you there?")
    composer.press("Enter")
    alert = page.locator(".thread__error")
    expect(alert).to_contain_text(UNREACHABLE)
    expect(alert).not_to_contain_text("Failed to fetch")
    expect(composer).to_have_value("Are you there?")
    expect(page.locator(".msg")).to_have_count(2)
    screenshot(page, "30-chat-unreachable")
    # Retry sends the composer's text again: still unreachable, it comes back once more
    alert.get_by_role("button", name="Retry").click()
    expect(page.locator(".thread__error")).to_contain_text(UNREACHABLE)
    expect(composer).to_have_value("Are you there?")
    expect(page.locator(".msg")).to_have_count(2)

    # another conversation: neither the error nor the unsent text follow; back, the text is there
    page.locator(f'.conv-item[data-id="{second}"]').get_by_role("link").click()
    expect(page.locator(".topbar__title")).to_have_text("Unreachable two")
    expect(page.locator(".msg--user .msg__bubble")).to_have_text("Yo")
    expect(page.locator(".thread__error")).to_have_count(0)
    expect(composer).to_have_value("")
    page.locator(f'.conv-item[data-id="{first}"]').get_by_role("link").click()
    expect(page.locator(".topbar__title")).to_have_text("Unreachable one")
    expect(composer).to_have_value("Are you there?")
    expect(page.locator(".thread__error")).to_have_count(0)

    # a conversation that cannot be loaded: its own error, no Retry left from the other one
    composer.press("Enter")
    expect(page.locator(".thread__error")).to_be_visible()
    page.route(f"**/api/conversations/{second}", lambda route: route.abort())
    page.locator(f'.conv-item[data-id="{second}"]').get_by_role("link").click()
    expect(page.locator(".empty__title")).to_have_text(UNREACHABLE)
    expect(page.locator(".thread__error")).to_have_count(0)
    expect(page.get_by_role("button", name="Retry")).to_have_count(0)
    expect(composer).to_have_value("")


def test_a_stream_cut_short_says_the_connection_was_lost(
    open_page: OpenPage, web_app: WebApp
) -> None:
    conv, ids = seed_conversation(
        web_app.db_url, web_app.admin_id, "Cut short", [("user", "Hi"), ("assistant", "Hello!")]
    )
    page = open_page(f"/c/{conv}")
    composer = page.get_by_role("textbox", name="Message")
    expect(page.locator(".msg")).to_have_count(2)
    start = {
        "conversation_id": conv,
        "user_message": message("u-cut", ids[-1], "user", "complete"),
        "assistant_message": message("a-cut", "u-cut", "assistant", "streaming"),
        "sources": [],
    }
    # the server took the message and began to answer, then the stream broke off (and the
    # server stays out of reach, so the page keeps what it saw)
    body = (
        f"event: start\ndata: {json.dumps(start)}\n\n"
        f"event: delta\ndata: {json.dumps({'text': 'Yes, I am'})}\n\n"
    )
    page.route(
        SEND,
        lambda route: route.fulfill(
            status=200, headers={"Content-Type": "text/event-stream"}, body=body
        ),
    )
    page.route(f"**/api/conversations/{conv}", lambda route: route.abort())
    composer.fill("Are you there?")
    composer.press("Enter")
    answer = page.locator(".msg--assistant").last
    expect(answer.locator(".msg__error")).to_contain_text(LOST)
    expect(answer.locator(".msg__content")).to_have_text("Yes, I am")
    expect(page.locator(".msg--user .msg__bubble").last).to_have_text("Are you there?")
    expect(composer).to_have_value("")  # the server took it: it is in the thread
    expect(page.get_by_role("button", name="Send")).to_be_visible()


def test_a_new_chat_keeps_its_text_in_french(open_page: OpenPage, web_app: WebApp) -> None:
    register(web_app, "fanny@example.com")
    page = open_page("/", email="fanny@example.com", locale="fr-FR")
    composer = page.get_by_role("textbox", name="Message")
    expect(page.locator(".topbar__title")).to_have_text("Nouvelle discussion")
    page.route("**/api/conversations", abort_posts)
    composer.fill("Bonjour ?")
    composer.press("Enter")
    alert = page.locator(".thread__error")
    expect(alert).to_contain_text(UNREACHABLE_FR)
    expect(alert.get_by_role("button", name="Réessayer")).to_be_visible()
    expect(composer).to_have_value("Bonjour ?")
    expect(page).to_have_url(f"{web_app.url}/")


def test_a_new_chat_is_titled_new_chat_before_and_after_it_is_made(
    open_page: OpenPage, web_app: WebApp
) -> None:
    register(web_app, "gaston@example.com")
    page = open_page("/", email="gaston@example.com")
    composer = page.get_by_role("textbox", name="Message")
    title = page.locator(".topbar__title")
    expect(title).to_have_text("New chat")
    # the conversation is made, its first message does not reach the server
    page.route(SEND, lambda route: route.abort())
    composer.fill("Hello?")
    composer.press("Enter")
    expect(page).to_have_url(re.compile(r"/c/[0-9a-f]{32}$"))
    expect(page.locator(".thread__error")).to_contain_text(UNREACHABLE)
    expect(composer).to_have_value("Hello?")
    expect(title).to_have_text("New chat")
    expect(page.locator(".conv-item.is-active")).to_contain_text("New chat")
    page.reload()
    expect(title).to_have_text("New chat")
    expect(composer).to_have_value("")


@pytest.mark.parametrize("cleared", [False, True], ids=["left-alone", "cleared"])
def test_a_persona_chat_keeps_the_system_prompt_as_the_draft_left_it(
    open_page: OpenPage, web_app: WebApp, cleared: bool
) -> None:
    """The draft of a persona chat shows the persona's prompt; the conversation made from
    it keeps that prompt, or none when the user cleared it before the first message."""
    email = "iris@example.com" if cleared else "hugo@example.com"
    register(web_app, email)
    client = web_app.client(email)
    prompt = "You are a patient chess coach."
    response = client.send(
        "POST",
        "/api/personas",
        json={"name": "Coach", "description": "Chess", "system_prompt": prompt},
    )
    assert response.status_code == 201, response.text
    page = open_page("/", email=email)
    page.locator(".persona-item", has_text="Coach").click()
    expect(page.locator(".empty__title")).to_have_text("Coach")
    page.get_by_role("button", name="Conversation settings").click()
    dialog = page.get_by_role("dialog", name="Conversation settings")
    system = dialog.get_by_label("System prompt")
    expect(system).to_have_value(prompt)
    if cleared:
        system.fill("")
        dialog.get_by_role("button", name="Save").click()
        expect(dialog).to_be_hidden()
    else:
        dialog.get_by_role("button", name="Cancel").click()
    expected = "" if cleared else prompt
    page.route(SEND, lambda route: route.abort())  # no answer is needed
    composer = page.get_by_role("textbox", name="Message")
    composer.fill("Teach me the Sicilian.")
    composer.press("Enter")
    expect(page).to_have_url(re.compile(r"/c/[0-9a-f]{32}$"))
    conv = client.get(f"/api/conversations/{page.url.rsplit('/', 1)[1]}").json()
    assert conv["system_prompt"] == expected
    assert conv["persona_id"] is not None
    page.get_by_role("button", name="Conversation settings").click()
    expect(dialog.get_by_label("System prompt")).to_have_value(expected)
