"""A chat started from a persona, in the browser: the system prompt the user clears before
the first message stays cleared in the conversation made from it (the persona's prompt,
left alone, is kept: see test_chat_failures). The message itself is cut off in the
browser; no answer of the model is needed."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.web.conftest import OpenPage, WebApp
from tests.web.test_settings import register

SEND = "**/api/conversations/*/messages"


def test_a_cleared_persona_prompt_stays_cleared(open_page: OpenPage, web_app: WebApp) -> None:
    register(web_app, "iris@example.com")
    client = web_app.client("iris@example.com")
    prompt = "You are a strict Latin teacher."
    response = client.send(
        "POST", "/api/personas", json={"name": "Magister", "system_prompt": prompt}
    )
    assert response.status_code == 201, response.text
    page = open_page("/", email="iris@example.com")
    page.locator(".persona-item", has_text="Magister").click()
    expect(page.locator(".empty__title")).to_have_text("Magister")
    page.get_by_role("button", name="Conversation settings").click()
    dialog = page.get_by_role("dialog", name="Conversation settings")
    system = dialog.get_by_label("System prompt")
    expect(system).to_have_value(prompt)
    system.fill("")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    page.route(SEND, lambda route: route.abort())
    composer = page.get_by_role("textbox", name="Message")
    composer.fill("Salve!")
    composer.press("Enter")
    expect(page).to_have_url(re.compile(r"/c/[0-9a-f]{32}$"))
    conv = client.get(f"/api/conversations/{page.url.rsplit('/', 1)[1]}").json()
    assert conv["system_prompt"] == ""
    assert conv["persona_id"] is not None
    page.get_by_role("button", name="Conversation settings").click()
    expect(dialog.get_by_label("System prompt")).to_have_value("")
