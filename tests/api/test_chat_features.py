"""Personas, custom instructions, search, export/import and share links through real HTTP
on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.api.test_conversations import events_of, new_conversation, send, user
from tests.api.test_documents import upload
from tests.conftest import Server
from tests.support.postgres import BACKENDS
from tests.support.web import app_server


@pytest.fixture(scope="module", params=BACKENDS)
def app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    with app_server(str(request.param), tmp_path_factory.mktemp("features")) as srv:
        yield srv


def test_personas_private_and_shared(app: Server) -> None:
    admin = user(app, "padmin")  # the first account of this server may be admin already
    alice, bob = user(app, "alice"), user(app, "bob")
    created = alice.send("POST", "/api/personas", json={
        "name": "Pirate", "description": "Talks like a pirate",
        "system_prompt": "You are a pirate. Answer like a pirate.", "params": {"temperature": 0},
    })  # fmt: skip
    assert created.status_code == 201, created.text
    persona = created.json()
    assert persona["mine"] and not persona["shared"]
    assert all(p["id"] != persona["id"] for p in bob.get("/api/personas").json()["data"])
    assert bob.get(f"/api/personas/{persona['id']}").status_code == 404
    assert (
        bob.send("PATCH", f"/api/personas/{persona['id']}", json={"name": "x"}).status_code == 404
    )
    refused = alice.send("POST", "/api/personas", json={"name": "Team", "shared": True})
    assert refused.status_code in (403, 201)
    if admin.user.get("role") == "admin":
        assert refused.status_code == 403
        shared = admin.send("POST", "/api/personas", json={"name": "Team", "shared": True}).json()
        assert any(p["id"] == shared["id"] for p in bob.get("/api/personas").json()["data"])
        assert bob.send("DELETE", f"/api/personas/{shared['id']}").status_code == 403
    conv = alice.send("POST", "/api/conversations", json={"persona_id": persona["id"]}).json()
    assert conv["system_prompt"].startswith("You are a pirate")
    assert conv["params"] == {"temperature": 0}
    r = bob.send("POST", "/api/conversations", json={"persona_id": persona["id"]})
    assert r.status_code == 404
    assert alice.send("DELETE", f"/api/personas/{persona['id']}").status_code == 204


def test_custom_instructions_reach_the_model(app: Server) -> None:
    b = user(app, "instr")
    settings = {"custom_instructions": "Always answer in one word: BANANA.",
                "preferences": {"theme": "dark", "language": "fr"}}  # fmt: skip
    assert b.send("PUT", "/api/me/settings", json=settings).json() == settings
    assert b.get("/api/me/settings").json() == settings
    conv = new_conversation(b, params={"temperature": 0, "max_tokens": 5})
    events = send(b, conv, "Hello")
    assert events[-1][0] == "done"
    bad = b.send("PUT", "/api/me/settings", json={"preferences": {"theme": "neon"}})
    assert bad.status_code == 400


def test_search_is_per_user_and_highlights(app: Server) -> None:
    alice, bob = user(app, "searcher"), user(app, "other")
    conv = new_conversation(alice, params={"temperature": 0, "max_tokens": 8})
    send(alice, conv, "Tell me about <b>zanzibar</b> spices")
    secret = new_conversation(bob, params={"temperature": 0, "max_tokens": 4})
    send(bob, secret, "my zanzibar canary secret")
    found = alice.get("/api/search", params={"q": "zanzib"})
    assert found.status_code == 200, found.text
    hits = found.json()["data"]
    assert {h["conversation_id"] for h in hits} == {conv}
    assert all("<mark>" in h["snippet"] and "<b>" not in h["snippet"] for h in hits)
    assert all("canary" not in h["snippet"] for h in hits)
    for hostile in ['"', "AND (", "NEAR(", "*", "')--"]:
        assert alice.get("/api/search", params={"q": hostile}).status_code == 200


def test_export_import_roundtrip_and_chatgpt(app: Server) -> None:
    b = user(app, "export")
    conv = new_conversation(b, title="Exported", params={"temperature": 0, "max_tokens": 6})
    first = send(b, conv, "Hello there")
    answer = first[0][1]["assistant_message"]["id"]
    with b.http.stream("POST", f"/api/conversations/{conv}/messages/{answer}/regenerate",
                       headers={"X-CSRF-Token": b.csrf or ""}) as r:  # fmt: skip
        events_of(r)
    exported = b.get("/api/export").json()
    assert exported["format"] == "causerie"
    tree = exported["conversations"][0]
    assert len(tree["messages"]) == 3  # the user message and both answers
    markdown = b.get("/api/export", params={"format": "markdown"}).text
    assert "# Exported" in markdown and "Hello there" in markdown
    other = user(app, "importer")
    r = other.send("POST", "/api/import", content=json.dumps(exported).encode())
    assert r.json() == {"imported": 1}
    mine = other.get("/api/conversations").json()["data"]
    assert len(mine) == 1 and mine[0]["id"] != conv and mine[0]["title"] == "Exported"
    view = other.get(f"/api/conversations/{mine[0]['id']}").json()
    assert view["messages"][-1]["sibling_count"] == 2
    chatgpt = [{
        "title": "From ChatGPT", "create_time": 1700000000.0, "update_time": 1700000100.0,
        "current_node": "n3",
        "mapping": {
            "root": {"id": "root", "message": None, "parent": None, "children": ["n1"]},
            "n1": {"id": "n1", "parent": "root", "children": ["n2"], "message": {
                "author": {"role": "user"}, "create_time": 1700000001.0,
                "content": {"content_type": "text", "parts": ["Bonjour"]}}},
            "n2": {"id": "n2", "parent": "n1", "children": ["n3"], "message": {
                "author": {"role": "assistant"}, "create_time": 1700000002.0,
                "content": {"content_type": "text", "parts": ["Salut !"]}}},
            "n3": {"id": "n3", "parent": "n2", "children": [], "message": {
                "author": {"role": "user"}, "create_time": 1700000003.0,
                "content": {"content_type": "text", "parts": ["Ça va ?"]}}},
        },
    }]  # fmt: skip
    assert other.send("POST", "/api/import", content=json.dumps(chatgpt).encode()).json() == {
        "imported": 1
    }
    found = [
        c for c in other.get("/api/conversations").json()["data"] if c["title"] == "From ChatGPT"
    ]
    path = other.get(f"/api/conversations/{found[0]['id']}").json()["messages"]
    assert [m["content"] for m in path] == ["Bonjour", "Salut !", "Ça va ?"]
    for bad in (b"not json", b"{}", b'[{"no": "mapping"}]', b'{"format": "causerie"}'):
        assert other.send("POST", "/api/import", content=bad).status_code == 400


def test_export_import_keeps_tool_messages_sources_and_citations(app: Server) -> None:
    b = user(app, "metaexport")
    conv = new_conversation(b, title="Tools", params={"temperature": 0, "max_tokens": 60})
    events = send(b, conv, "What is 12 times 7? Use the calculator.", tool="calculator")
    assert [k for k, _ in events][:3] == ["start", "tool_call", "tool_result"], events
    doc = upload(b, "depot.txt", b"The door code of the Quillfeather depot is 4417.")
    grounded = new_conversation(b, title="Grounded", params={"temperature": 0, "max_tokens": 24})
    r = b.send("POST", f"/api/conversations/{grounded}/attachments",
               json={"document_id": doc["id"]})  # fmt: skip
    assert r.status_code == 201, r.text
    send(b, grounded, "What is the door code of the Quillfeather depot?")
    exported = b.get("/api/export").json()
    by_title = {c["title"]: c for c in exported["conversations"]}
    tools = by_title["Tools"]["messages"]
    assert [m["role"] for m in tools[:3]] == ["user", "assistant", "tool"]
    call = tools[1]["meta"]["tool_calls"][0]
    assert call["name"] == "calculator" and tools[2]["meta"]["tool_call_id"] == call["id"]
    answer = by_title["Grounded"]["messages"][-1]
    assert answer["meta"]["sources"][0]["document_id"] == doc["id"]
    assert isinstance(answer["meta"]["citations"], list)
    markdown = b.get("/api/export", params={"format": "markdown"}).text
    assert "Calls the tool calculator:" in markdown and call["arguments"] in markdown
    assert "**Tool result (calculator):**" in markdown and "- [1] depot.txt" in markdown

    other = user(app, "metaimport")
    r = other.send("POST", "/api/import", content=json.dumps(exported).encode())
    assert r.json() == {"imported": 2}, r.text
    mine = {c["title"]: c["id"] for c in other.get("/api/conversations").json()["data"]}
    for title, original in (("Tools", tools), ("Grounded", by_title["Grounded"]["messages"])):
        messages = other.get(f"/api/conversations/{mine[title]}").json()["messages"]
        assert [m["meta"] for m in messages] == [m["meta"] for m in original], title

    def refused(meta: Any) -> httpx.Response:
        bad = json.loads(json.dumps(exported))
        bad["conversations"][0]["messages"][1]["meta"] = meta
        return other.send("POST", "/api/import", content=json.dumps(bad).encode())

    for meta in (
        {"evil": 1},
        [],
        {"tool_calls": "x"},
        {"tool_calls": [{"id": "a", "name": "b"}]},
        {"tool_call_id": 7},
        {"name": "x" * 201},
        {"sources": [{"n": 1, "filename": {"a": 1}}]},
        {"sources": [{"n": -1}]},
        {"citations": [{"n": 1, "by": "guess", "spans": []}]},
        {"citations": [{"n": 1, "by": "model", "spans": [[5, 2]]}]},
        {"citations": [{"n": 1, "by": "model", "spans": [[1, 2]] * 1001}]},
    ):
        r = refused(meta)
        assert r.status_code == 400 and r.json()["error"]["param"] == "meta", (meta, r.text)
        assert "meta" in r.json()["error"]["message"]
    assert len(other.get("/api/conversations").json()["data"]) == 2  # nothing written


def test_share_links(app: Server) -> None:
    b = user(app, "sharer")
    conv = new_conversation(b, title="Shared chat", params={"temperature": 0, "max_tokens": 6})
    send(b, conv, "Hello")
    share = b.send("POST", f"/api/conversations/{conv}/shares").json()
    anonymous = httpx.get(app.url + f"/api/shared/{share['id']}")
    body: dict[str, Any] = anonymous.json()
    assert anonymous.status_code == 200 and body["title"] == "Shared chat"
    assert [m["role"] for m in body["messages"]] == ["user", "assistant"]
    assert set(body) == {"title", "created_at", "messages"}  # nothing else leaks
    send(b, conv, "A later message")
    assert len(httpx.get(app.url + f"/api/shared/{share['id']}").json()["messages"]) == 2
    other = user(app, "notowner")
    assert other.send("DELETE", f"/api/shares/{share['id']}").status_code == 404
    assert b.send("DELETE", f"/api/shares/{share['id']}").status_code == 204
    assert httpx.get(app.url + f"/api/shared/{share['id']}").status_code == 404
