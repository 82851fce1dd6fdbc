"""Grounded answers from the bundled model through real HTTP on SQLite and PostgreSQL:
for each file type, upload -> attach -> ask -> the passage is in the prompt (the engine
counts its tokens), the sources are sent and kept, and the sentence stating the fact is
cited [1] (by the model's marker or, as the 135M model seldom writes one, by overlap). Collections, personas, sharing rules and isolation through the routes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.api.test_conversations import send, user
from tests.api.test_documents import upload
from tests.conftest import Server
from tests.support.documents import make_docx, make_pdf
from tests.support.postgres import BACKENDS
from tests.support.web import Browser, app_server

PARAMS = {"temperature": 0, "max_tokens": 32}


@dataclass
class App:
    server: Server
    admin: Browser  # the first account of a server is its administrator


@pytest.fixture(scope="module", params=BACKENDS)
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    with app_server(str(request.param), tmp_path_factory.mktemp("grounded")) as server:
        admin = user(server, "admin")
        assert admin.user["role"] == "admin"
        yield App(server, admin)


def files() -> dict[str, tuple[bytes, str, str]]:
    """file name -> (content, fact, question): one made-up fact per supported type."""
    facts = {
        "notes.txt": ("The door code of the Quillfeather depot is 4417.", "Quillfeather", "4417"),
        "guide.md": ("The door code of the Brambleton depot is 5528.", "Brambleton", "5528"),
        "page.html": ("The door code of the Marrowby depot is 6639.", "Marrowby", "6639"),
        "paper.pdf": ("The door code of the Thistlewick depot is 7741.", "Thistlewick", "7741"),
        "report.docx": ("The door code of the Fennimore depot is 8852.", "Fennimore", "8852"),
    }
    out: dict[str, tuple[bytes, str, str]] = {}
    for name, (fact, place, code) in facts.items():
        question = f"What is the door code of the {place} depot?"
        if name.endswith(".txt"):
            data = f"Depot notes.\n\n{fact}".encode()
        elif name.endswith(".md"):
            data = f"# Depots\n\n## Codes\n\n{fact}".encode()
        elif name.endswith(".html"):
            data = f"<h1>Depots</h1><p>{fact}</p>".encode()
        elif name.endswith(".pdf"):
            data = make_pdf(["Depots", fact])
        else:
            data = make_docx([(1, "Depots"), (0, fact)])
        out[name] = (data, code, question)
    return out


def conversation(b: Browser, max_tokens: int = 32) -> str:
    """A titled conversation (so no title is generated: the CPU is for the answers)."""
    params = {**PARAMS, "max_tokens": max_tokens}
    r = b.send("POST", "/api/conversations", json={"title": "t", "params": params})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def attach(b: Browser, conv: str, **source: str) -> dict[str, Any]:
    r = b.send("POST", f"/api/conversations/{conv}/attachments", json=source)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def answer(b: Browser, conv: str, question: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    """(start, done, text) of one streamed answer."""
    events = send(b, conv, question)
    kinds = dict(events)
    text = "".join(data["text"] for kind, data in events if kind == "delta")
    assert "done" in kinds, events
    return kinds["start"], kinds["done"], text


def test_cited_answer_from_each_file_type(app: App) -> None:
    b = user(app.server, "grounded")
    answered = cited = attributed = 0
    docs = []
    for name, (data, code, question) in files().items():
        doc = upload(b, name, data)
        docs.append(doc)
        _, done_plain, _ = answer(b, conversation(b, max_tokens=1), question)
        conv = conversation(b)
        attach(b, conv, document_id=doc["id"])
        start, done, text = answer(b, conv, question)
        sources = start["sources"]
        assert [s["document_id"] for s in sources] == [doc["id"]], name
        assert sources[0]["n"] == 1 and sources[0]["filename"] == name
        assert code in sources[0]["excerpt"]
        # the passage really is in the prompt: the engine counted its tokens
        extra = done["usage"]["prompt_tokens"] - done_plain["usage"]["prompt_tokens"]
        assert extra >= 40, (name, extra)
        stored = b.get(f"/api/conversations/{conv}").json()["messages"][-1]
        assert stored["meta"]["sources"] == sources and stored["content"] == text
        assert stored["meta"]["citations"] == done["citations"]
        answered += code in text
        cited += "[1]" in text
        at = text.find(code)
        attributed += any(
            c["n"] == 1 and a <= at < b for c in done["citations"] for a, b in c["spans"]
        )
    # the greedy 135M model answers from the passage (it cannot guess a made-up code); it
    # seldom writes "[1]" itself, but the sentence stating the code is attributed to [1]
    assert answered >= 4, answered
    assert attributed >= answered - 1 and attributed >= 3, (attributed, answered)
    print(f"\n{answered}/5 grounded answers, {cited}/5 cite [1], {attributed}/5 attributed")
    # all five attached: a sentence stating a code is attributed to the source holding that
    # code (the 135M model may pick the wrong depot: its sentence then cites that one)
    conv = conversation(b)
    for doc in docs:
        attach(b, conv, document_id=doc["id"])
    start, done, text = answer(b, conv, "What is the door code of the Marrowby depot?")
    assert len(start["sources"]) == 5, start["sources"]
    stated = [code for _, (_, code, _) in files().items() if code in text]
    assert stated, text
    for code in stated:
        holding = {s["n"] for s in start["sources"] if code in s["excerpt"]}
        at = text.find(code)
        found = {c["n"] for c in done["citations"] for a, b in c["spans"] if a <= at < b}
        assert found == holding, (text, done["citations"], start["sources"])


def test_collections_personas_sharing_and_isolation_over_http(app: App) -> None:
    admin, ann, mallory = app.admin, user(app.server, "ann"), user(app.server, "mallory")
    handbook = upload(admin, "handbook.md", b"# Leave\n\nHolidays are booked with the heron.")
    secret = upload(mallory, "secret.md", b"The heron canaryvx passphrase is hidden.")
    r = ann.send("POST", "/api/collections", json={"name": "Mine", "shared": True})
    assert r.status_code == 403 and r.json()["error"]["message"]
    shared = admin.send("POST", "/api/collections", json={"name": "HR", "shared": True}).json()
    path = f"/api/collections/{shared['id']}/documents/{handbook['id']}"
    assert admin.send("PUT", path).status_code == 204
    private = mallory.send("POST", "/api/collections", json={"name": "Private"}).json()
    assert (
        mallory.send(
            "PUT", f"/api/collections/{private['id']}/documents/{secret['id']}"
        ).status_code
        == 204
    )
    listed = ann.get("/api/collections").json()["data"]
    assert [(c["name"], c["mine"], c["document_count"]) for c in listed] == [("HR", False, 1)]
    assert (
        ann.send("PATCH", f"/api/collections/{shared['id']}", json={"name": "x"}).status_code == 403
    )
    assert ann.send("DELETE", f"/api/collections/{shared['id']}").status_code == 403
    assert ann.get(f"/api/collections/{private['id']}").status_code == 404
    conv = conversation(ann, max_tokens=2)
    for source in ({"collection_id": private["id"]}, {"document_id": secret["id"]}, {}):
        r = ann.send("POST", f"/api/conversations/{conv}/attachments", json=source)
        assert r.status_code in (400, 404) and r.json()["error"]["message"], source
    other = mallory.send("POST", f"/api/conversations/{conv}/attachments", json={
        "document_id": secret["id"]})  # fmt: skip
    assert other.status_code == 404
    attach(ann, conv, collection_id=shared["id"])
    start, _, _ = answer(ann, conv, "heron canaryvx passphrase holidays")
    assert [s["filename"] for s in start["sources"]] == ["handbook.md"]
    assert "canaryvx" not in str(start["sources"])
    stored = ann.get(f"/api/conversations/{conv}").json()["messages"][-1]
    assert "canaryvx" not in str(stored)
    # a persona carries knowledge to every conversation made with it
    persona = admin.send("POST", "/api/personas", json={"name": "HR bot", "shared": True}).json()
    r = admin.send("POST", f"/api/personas/{persona['id']}/attachments",
                   json={"collection_id": shared["id"]})  # fmt: skip
    assert r.status_code == 201
    r = ann.send("POST", f"/api/personas/{persona['id']}/attachments",
                 json={"collection_id": shared["id"]})  # fmt: skip
    assert r.status_code == 403
    assert [a["name"] for a in ann.get(f"/api/personas/{persona['id']}/attachments").json()[
        "data"]] == ["HR"]  # fmt: skip
    with_persona = ann.send("POST", "/api/conversations", json={
        "title": "t", "persona_id": persona["id"], "params": {"max_tokens": 2}}).json()["id"]  # fmt: skip
    start, _, _ = answer(ann, with_persona, "When are holidays booked?")
    assert [s["filename"] for s in start["sources"]] == ["handbook.md"]
    # re-index keeps it answerable; delete takes it (and its attachments) away
    reindex = f"/api/documents/{handbook['id']}/reindex"
    reindexed = admin.send("POST", reindex, params={"wait": "true"}).json()
    assert reindexed["status"] == "ready" and reindexed["chunk_count"] >= 1
    attachments = ann.get(f"/api/conversations/{conv}/attachments").json()["data"]
    assert [(a["kind"], a["name"]) for a in attachments] == [("collection", "HR")]
    assert admin.send("DELETE", f"/api/documents/{handbook['id']}").status_code == 204
    start, _, _ = answer(ann, conv, "When are holidays booked?")
    assert start["sources"] == []
    assert ann.get(f"/api/collections/{shared['id']}/documents").json()["data"] == []
    r = ann.send("DELETE", f"/api/conversations/{conv}/attachments/{attachments[0]['id']}")
    assert r.status_code == 204
    assert ann.get(f"/api/conversations/{conv}/attachments").json()["data"] == []


def test_digits_heavy_document_never_overflows_the_context(app: App) -> None:
    """About one token per character: the character estimate alone would overflow the
    1024-token context; the engine's own count keeps the prompt within it."""
    b = user(app.server, "digits")
    table = "\n".join(
        f"{n:05d} {n * 7919 % 100000:05d} {n * 104729 % 100000:05d}" for n in range(400)
    )
    doc = upload(b, "ledger.txt", f"Ledger of parcel weights.\n\n{table}".encode())
    conv = conversation(b, max_tokens=8)
    attach(b, conv, document_id=doc["id"])
    start, done, _ = answer(b, conv, "ledger parcel weights 00042")
    assert done["status"] == "complete", done
    assert start["sources"] and start["sources"][0]["document_id"] == doc["id"]
    assert done["usage"]["prompt_tokens"] <= 1024 - 8
    assert done["usage"]["prompt_tokens"] > 400  # a good share of the context was used
