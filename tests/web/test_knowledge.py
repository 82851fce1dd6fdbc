"""Documents in the browser with the real bundled model: upload on the Documents dialog
(progress, status, a refused file, re-index, delete, collections), the indexing progress
the server reports (chunks done / total, then ready or failed), attach to a conversation
in its settings, ask, see the sources under the answer, a [1] after the sentence the
server matched to its source, open the passage."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import expect

from causerie.store.db import Database, Unit
from causerie.store.tables import Document
from tests.web.conftest import OpenPage, WebApp
from tests.web.harness import screenshot
from tests.web.test_chat import wait_until_answered

pytestmark = pytest.mark.slow

GUIDE = b"# Depots\n\n## Codes\n\nThe door code of the Brambleton depot is 5528."


def test_upload_attach_ask_and_open_a_source(open_page: OpenPage, web_app: WebApp) -> None:
    page = open_page("/")
    page.get_by_role("button", name="Documents", exact=True).click()
    manager = page.get_by_role("dialog", name="Documents and collections")
    files = [
        {"name": "guide.md", "mimeType": "text/markdown", "buffer": GUIDE},
        {"name": "tool.exe", "mimeType": "application/octet-stream", "buffer": b"MZ\x90\x00"},
        {"name": "old.txt", "mimeType": "text/plain", "buffer": b"An old note to delete."},
    ]
    manager.locator("#knowledge-files").set_input_files(files)
    documents = manager.get_by_role("list", name="Documents")
    guide = documents.locator(".knowledge-row", has_text="guide.md")
    expect(guide).to_contain_text("Ready · 1 chunk", timeout=30_000)
    expect(documents.locator(".knowledge-row", has_text="old.txt")).to_be_visible()
    expect(manager.locator(".upload-item--error")).to_contain_text("tool.exe: unsupported")
    expect(documents.locator(".knowledge-row", has_text="tool.exe")).to_have_count(0)

    manager.get_by_role("button", name="Re-index guide.md").click()
    expect(page.get_by_text("Re-indexed")).to_be_visible()
    manager.get_by_role("button", name="Delete old.txt").click()
    page.get_by_role("dialog", name="Delete this document?").get_by_role(
        "button", name="Delete"
    ).click()
    expect(documents.locator(".knowledge-row", has_text="old.txt")).to_have_count(0)

    manager.get_by_label("New collection name").fill("Handbook")
    manager.get_by_role("button", name="Create collection").click()
    collections = manager.get_by_role("list", name="Collections")
    expect(collections).to_contain_text("Handbook")
    expect(collections).to_contain_text("0 documents")
    manager.get_by_label("Add guide.md to a collection").select_option(label="Handbook")
    expect(collections).to_contain_text("1 document")
    screenshot(page, "knowledge-dialog")
    manager.get_by_role("button", name="Close").click()

    # a new chat: the choice waits in the draft and is attached when the chat is made
    page.get_by_role("button", name="Conversation settings").click()
    settings = page.get_by_role("dialog", name="Conversation settings")
    settings.get_by_label("Choose a document or a collection").select_option(label="guide.md")
    settings.get_by_role("button", name="Attach").click()
    expect(settings.get_by_role("list", name="Knowledge")).to_contain_text("guide.md")
    screenshot(page, "knowledge-draft-settings")
    settings.get_by_label("Temperature").fill("0")
    settings.get_by_label("Maximum answer length (tokens)").fill("24")
    settings.get_by_role("button", name="Save").click()
    expect(settings).to_have_count(0)

    composer = page.get_by_role("textbox", name="Message")
    composer.fill("What is the door code of the Brambleton depot?")
    composer.press("Enter")
    expect(page).to_have_url(re.compile(r"/c/[0-9a-f]{32}$"), timeout=30_000)
    conv_id = page.url.rsplit("/", 1)[-1]
    expect(page.locator(".msg--assistant")).to_have_count(1)
    answer = wait_until_answered(page)
    sources = answer.get_by_role("region", name="Sources")
    expect(sources).to_contain_text("[1]")
    expect(sources).to_contain_text("guide.md")
    expect(sources.locator(".source--cited")).to_contain_text("cited")
    # the 135M model states the code without "[1]": the server matched it to the source
    expect(answer.locator(".msg__content")).to_contain_text("5528")
    matched = answer.locator(".msg__content button.cite--matched")
    expect(matched).to_have_count(1)
    expect(matched).to_have_text("[1]")
    expect(matched).to_have_attribute("title", "Matched automatically to guide.md")
    screenshot(page, "knowledge-sources")
    matched.click()
    passage = page.get_by_role("dialog", name="Quoted passage")
    expect(passage.locator(".source-passage")).to_contain_text("Brambleton depot is 5528.")
    passage.get_by_role("button", name="Close").click()
    sources.get_by_role("button", name=re.compile("Open source guide.md")).click()
    passage = page.get_by_role("dialog", name="Quoted passage")
    expect(passage.locator(".source-passage")).to_contain_text("Brambleton depot is 5528.")
    passage.get_by_role("button", name="Close").click()

    page.reload()  # the sources were kept with the answer, the attachment with the chat
    last = page.locator(".msg--assistant").last
    expect(last.get_by_role("region", name="Sources")).to_contain_text("guide.md")
    page.get_by_role("button", name="Conversation settings").click()
    settings = page.get_by_role("dialog", name="Conversation settings")
    attached = settings.get_by_role("list", name="Knowledge")
    expect(attached).to_contain_text("guide.md")
    settings.get_by_role("button", name="Detach guide.md").click()
    expect(attached).to_contain_text("Nothing attached.")
    settings.get_by_role("button", name="Cancel").click()

    # the 135M model seldom writes "[1]" itself: give the stored answer one, and a hostile
    # file name, to see the citation become a button and every name stay text
    database = Database(web_app.db_url)
    try:
        with database.unit() as uow:
            (stored,) = [m for m in uow.messages.all_in(conv_id) if m.role == "assistant"]
            stored.content = "The code is 5528 [1], not [7]. `[1]` in code stays."
            hostile = "<img src=x onerror=alert(1)>.md"
            stored.meta = {"sources": [{**stored.meta["sources"][0], "filename": hostile}]}
            uow.commit()
    finally:
        database.close()
    page.reload()
    last = page.locator(".msg--assistant").last
    expect(last.locator(".msg__content button.cite")).to_have_count(1)
    expect(last.locator(".msg__content img")).to_have_count(0)
    expect(last.get_by_role("region", name="Sources")).to_contain_text(hostile)
    last.locator(".msg__content button.cite").click()
    passage = page.get_by_role("dialog", name="Quoted passage")
    expect(passage).to_contain_text(hostile)
    expect(passage.locator(".source-passage")).to_contain_text("Brambleton depot is 5528.")
    assert page.locator("img[src=x]").count() == 0

    # a matched citation goes after its sentence, whatever the markdown around it
    text = "**Door code:** the *Brambleton* depot code is 5528. Nothing else.\n\n`5528.`"
    with database_unit(web_app.db_url) as uow:
        (stored,) = [m for m in uow.messages.all_in(conv_id) if m.role == "assistant"]
        stored.content = text
        spans = [[0, text.index(" Nothing")]]
        stored.meta = {**stored.meta, "citations": [{"n": 1, "by": "overlap", "spans": spans}]}
        uow.commit()
    page.reload()
    content = page.locator(".msg--assistant").last.locator(".msg__content")
    expect(content.locator("button.cite--matched")).to_have_count(1)
    expect(content).to_have_text(re.compile(r"depot code is 5528\.\[1\] Nothing else\."))
    expect(content.locator("code button")).to_have_count(0)


@contextmanager
def database_unit(url: str) -> Iterator[Unit]:
    database = Database(url)
    try:
        with database.unit() as uow:
            yield uow
    finally:
        database.close()


def test_knowledge_of_a_persona(open_page: OpenPage, web_app: WebApp) -> None:
    client = web_app.client()
    headers = {"X-CSRF-Token": client.csrf or "", "Content-Type": "text/plain"}
    r = client.http.post("/api/documents", params={"filename": "policy.txt", "wait": "true"},
                         content=b"Refunds take ten days.", headers=headers)  # fmt: skip
    assert r.status_code == 201 and r.json()["status"] == "ready", r.text
    page = open_page("/")
    page.get_by_role("button", name="Manage personas").click()
    manager = page.get_by_role("dialog", name="Manage personas")
    manager.get_by_role("button", name="New persona").click()
    expect(manager.get_by_text("Save the persona first to attach documents to it.")).to_be_visible()
    manager.get_by_label("Name").fill("Support")
    manager.get_by_role("button", name="Save").click()
    manager.get_by_role("button", name="Edit Support").click()
    manager.get_by_label("Choose a document or a collection").select_option(label="policy.txt")
    manager.get_by_role("button", name="Attach").click()
    expect(manager.get_by_role("list", name="Knowledge")).to_contain_text("policy.txt")
    personas = client.get("/api/personas").json()["data"]
    support = next(p for p in personas if p["name"] == "Support")
    attached = client.get(f"/api/personas/{support['id']}/attachments").json()["data"]
    assert [(a["kind"], a["name"]) for a in attached] == [("document", "policy.txt")]


LEDGER = "\n\n".join(f"Entry {i} of the harbour ledger. " * 12 for i in range(100))


def set_document(web_app: WebApp, document_id: str, **values: object) -> None:
    database = Database(web_app.db_url)
    try:
        with database.unit() as uow:
            row = uow.session.get(Document, document_id)
            assert row is not None
            for name, value in values.items():
                setattr(row, name, value)
            uow.commit()
    finally:
        database.close()


def test_indexing_progress_then_ready_or_failed(open_page: OpenPage, web_app: WebApp) -> None:
    client = web_app.client()
    r = client.send("POST", "/api/documents/text", params={"wait": "true"},
                    json={"title": "Harbour ledger", "text": LEDGER})  # fmt: skip
    assert r.status_code == 201 and r.json()["status"] == "ready", r.text
    doc, chunks = r.json(), r.json()["chunk_count"]
    assert chunks > 32
    # as the indexer leaves a document between two batches (it never claims such a row)
    set_document(web_app, doc["id"], status="indexing", progress_done=16, progress_total=chunks)
    page = open_page("/")
    page.get_by_role("button", name="Documents", exact=True).click()
    manager = page.get_by_role("dialog", name="Documents and collections")
    row = manager.get_by_role("list", name="Documents").locator(
        ".knowledge-row", has_text="Harbour ledger.md"
    )
    expect(row).to_contain_text(f"Indexing · 16 / {chunks}")
    bar = row.get_by_role("progressbar")
    expect(bar).to_have_attribute("value", "16")
    expect(bar).to_have_attribute("max", str(chunks))
    expect(row.get_by_role("button", name="Re-index Harbour ledger.md")).to_be_disabled()
    screenshot(page, "knowledge-progress")
    set_document(web_app, doc["id"], progress_done=32)
    expect(row).to_contain_text(f"Indexing · 32 / {chunks}")  # polled, not reloaded
    set_document(web_app, doc["id"], status="ready", progress_done=chunks)
    expect(row).to_contain_text(f"Ready · {chunks} chunks")
    expect(row.get_by_role("progressbar")).to_have_count(0)

    # the real indexer: a re-index ends with a toast, a file without text ends failed
    row.get_by_role("button", name="Re-index Harbour ledger.md").click()
    expect(page.get_by_text("Re-indexed")).to_be_visible()
    expect(row).to_contain_text(f"Ready · {chunks} chunks")
    blank = {"name": "blank.txt", "mimeType": "text/plain", "buffer": b"  \n\n\t \n"}
    manager.locator("#knowledge-files").set_input_files([blank])
    failed = manager.get_by_role("list", name="Documents").locator(
        ".knowledge-row", has_text="blank.txt"
    )
    expect(failed).to_contain_text("Failed: no text could be found in this file")
    assert client.get(f"/api/documents/{doc['id']}").json()["progress_done"] == chunks


# how many lines an element's text takes (one client rect per line box)
LINES = """(el) => {
  const range = document.createRange();
  range.selectNodeContents(el);
  return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
}"""
# the parts of `row` that stick out of it or out of the screen
OVERFLOWS = """(row) => {
  const box = row.getBoundingClientRect();
  const out = [];
  for (const el of row.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width && (r.left < box.left - 0.5 || r.right > box.right + 0.5 || r.right > innerWidth)) {
      out.push(el.tagName + '.' + el.className);
    }
  }
  return out;
}"""


def test_a_document_row_stays_readable_on_a_phone(open_page: OpenPage, web_app: WebApp) -> None:
    """390 px wide: the name and the status keep one line each, the controls (a collection
    picker and two buttons) go below them, nothing leaves the row or the screen."""
    response = web_app.client().send("POST", "/api/collections", json={"name": "Pocket"})
    assert response.status_code == 201, response.text
    page = open_page("/", viewport=(390, 844))
    page.get_by_role("button", name="Open sidebar").click()
    page.get_by_role("button", name="Documents", exact=True).click()
    manager = page.get_by_role("dialog", name="Documents and collections")
    notes = {"name": "pocket-notes.txt", "mimeType": "text/plain", "buffer": b"Bike lock: 4471."}
    manager.locator("#knowledge-files").set_input_files([notes])
    row = manager.get_by_role("list", name="Documents").locator(
        ".knowledge-row", has_text="pocket-notes.txt"
    )
    status = row.locator(".knowledge-status")
    expect(status).to_have_text("Ready · 1 chunk", timeout=30_000)
    picker = row.get_by_label("Add pocket-notes.txt to a collection")
    expect(picker).to_be_visible()
    screenshot(page, "knowledge-phone")
    assert row.locator("strong").evaluate(LINES) == 1
    assert status.evaluate(LINES) == 1
    assert row.evaluate(OVERFLOWS) == []
    text_box = row.locator(".knowledge-row__text").bounding_box()
    actions = row.locator(".row-actions").bounding_box()
    assert text_box is not None and actions is not None
    assert actions["y"] >= text_box["y"] + text_box["height"] - 1  # below the text
    body = manager.locator(".dialog__body")
    assert body.evaluate("(el) => el.scrollWidth <= el.clientWidth")


def test_a_refused_upload_is_forgotten_at_the_next_action(
    open_page: OpenPage, web_app: WebApp
) -> None:
    page = open_page("/")
    page.get_by_role("button", name="Documents", exact=True).click()
    manager = page.get_by_role("dialog", name="Documents and collections")
    files = manager.locator("#knowledge-files")
    refused = manager.locator(".upload-item--error")
    bad = {"name": "setup.exe", "mimeType": "application/octet-stream", "buffer": b"MZ\x90\x00"}
    good = {"name": "later.txt", "mimeType": "text/plain", "buffer": b"A later note."}

    files.set_input_files([bad])
    expect(refused).to_contain_text("setup.exe: unsupported")
    files.set_input_files([good])  # the next upload
    documents = manager.get_by_role("list", name="Documents")
    expect(documents.locator(".knowledge-row", has_text="later.txt")).to_be_visible()
    expect(refused).to_have_count(0)

    files.set_input_files([bad])
    expect(refused).to_have_count(1)
    manager.get_by_label("New collection name").fill("After the refusal")
    manager.get_by_role("button", name="Create collection").click()  # any other action
    expect(manager.get_by_role("list", name="Collections")).to_contain_text("After the refusal")
    expect(refused).to_have_count(0)
