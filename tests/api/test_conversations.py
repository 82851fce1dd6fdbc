"""Conversations through real HTTP on a real `causerie serve` (bundled model), on SQLite
and PostgreSQL: CRUD, streamed answers persisted as they stream, branches, titles,
disconnects, and a SIGKILL in the middle of answers."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Server, start_server, stop_server
from tests.support.postgres import BACKENDS
from tests.support.web import Browser, app_server, fresh_database

SYSTEM = "You are a helpful assistant."


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def app(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with app_server(backend, tmp_path_factory.mktemp("conv")) as srv:
        yield srv


def user(app: Server, name: str) -> Browser:
    browser = Browser(app.url)
    response = browser.signup(f"{name}-{time.monotonic_ns()}@example.org")
    assert response.status_code == 201, response.text
    return browser


def events_of(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    kind = "message"
    for line in response.iter_lines():
        if line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: "):
            out.append((kind, json.loads(line[6:])))
    return out


def send(b: Browser, conv: str, content: str, **extra: Any) -> list[tuple[str, dict[str, Any]]]:
    headers = {"X-CSRF-Token": b.csrf or ""}
    body = {"content": content, **extra}
    with b.http.stream(
        "POST", f"/api/conversations/{conv}/messages", json=body, headers=headers
    ) as r:
        assert r.status_code == 200, r.read()
        return events_of(r)


def new_conversation(b: Browser, **fields: Any) -> str:
    r = b.send("POST", "/api/conversations", json={"system_prompt": SYSTEM, **fields})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_answer_streams_and_is_persisted_with_a_title(app: Server) -> None:
    b = user(app, "stream")
    conv = new_conversation(b, params={"temperature": 0, "max_tokens": 40})
    events = send(b, conv, "What is the capital of France?")
    kinds = [k for k, _ in events]
    assert kinds[0] == "start" and kinds[-1] == "done" and "delta" in kinds
    text = "".join(d["text"] for k, d in events if k == "delta")
    assert "Paris" in text
    done = events[-1][1]
    assert done["status"] == "complete" and done["usage"]["completion_tokens"] > 0
    titles = [d["title"] for k, d in events if k == "title"]
    assert titles and titles[0]
    view = b.get(f"/api/conversations/{conv}").json()
    assert view["title"] == titles[0]
    assert [m["role"] for m in view["messages"]] == ["user", "assistant"]
    assert view["messages"][1]["content"] == text
    assert view["messages"][1]["status"] == "complete"


def test_list_rename_pin_archive_delete(app: Server) -> None:
    b = user(app, "crud")
    ids = [new_conversation(b, title=f"c{i}") for i in range(4)]
    page = b.get("/api/conversations", params={"limit": 2}).json()
    assert page["total"] == 4 and [c["id"] for c in page["data"]] == [ids[3], ids[2]]
    assert b.send("PATCH", f"/api/conversations/{ids[0]}", json={"pinned": True}).status_code == 200
    assert b.get("/api/conversations").json()["data"][0]["id"] == ids[0]
    renamed = b.send("PATCH", f"/api/conversations/{ids[1]}", json={"title": "Renamed"}).json()
    assert renamed["title"] == "Renamed"
    b.send("PATCH", f"/api/conversations/{ids[2]}", json={"archived": True})
    assert ids[2] not in [c["id"] for c in b.get("/api/conversations").json()["data"]]
    archived = b.get("/api/conversations", params={"archived": True}).json()["data"]
    assert [c["id"] for c in archived] == [ids[2]]
    assert b.send("DELETE", f"/api/conversations/{ids[3]}").status_code == 204
    assert b.get(f"/api/conversations/{ids[3]}").status_code == 404


def test_regenerate_edit_and_switch_branches(app: Server) -> None:
    b = user(app, "branch")
    conv = new_conversation(b, params={"temperature": 1.0, "max_tokens": 12})
    first = send(b, conv, "Tell me a joke.")
    user_id = first[0][1]["user_message"]["id"]
    answer_1 = first[0][1]["assistant_message"]["id"]
    headers = {"X-CSRF-Token": b.csrf or ""}
    with b.http.stream(
        "POST", f"/api/conversations/{conv}/messages/{answer_1}/regenerate", headers=headers
    ) as r:
        regen = events_of(r)
    answer_2 = regen[0][1]["assistant_message"]["id"]
    view = b.get(f"/api/conversations/{conv}").json()
    last = view["messages"][-1]
    assert last["id"] == answer_2 and last["sibling_count"] == 2 and last["sibling_position"] == 2
    switched = b.send("PUT", f"/api/conversations/{conv}/branch", json={"message_id": answer_1})
    assert switched.json()["messages"][-1]["id"] == answer_1
    assert switched.json()["messages"][-1]["sibling_position"] == 1
    # edit the first user message: a new root beside it
    edited = send(b, conv, "Tell me a fact.", parent_id=None)
    view = b.get(f"/api/conversations/{conv}").json()
    assert view["messages"][0]["content"] == "Tell me a fact."
    assert view["messages"][0]["sibling_count"] == 2
    assert edited[0][1]["user_message"]["parent_id"] is None
    back = b.send("PUT", f"/api/conversations/{conv}/branch", json={"message_id": user_id}).json()
    assert back["messages"][0]["id"] == user_id and back["messages"][-1]["id"] == answer_2


def test_leaving_mid_answer_marks_it_interrupted(app: Server) -> None:
    b = user(app, "leave")
    conv = new_conversation(b, params={"temperature": 0.7, "max_tokens": 400})
    headers = {"X-CSRF-Token": b.csrf or ""}
    body = {"content": "Write a very long story about a lighthouse keeper."}
    with b.http.stream(
        "POST", f"/api/conversations/{conv}/messages", json=body, headers=headers
    ) as r:
        deltas = 0
        for line in r.iter_lines():
            if line.startswith("event: delta"):
                deltas += 1
            if deltas >= 5:
                break
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        message = b.get(f"/api/conversations/{conv}").json()["messages"][-1]
        if message["status"] != "streaming":
            break
        time.sleep(0.1)
    assert message["status"] == "interrupted"
    assert message["content"]  # the partial answer is kept


def test_other_users_cannot_touch_a_conversation(app: Server) -> None:
    owner, other = user(app, "owner"), user(app, "intruder")
    conv = new_conversation(owner, title="secret")
    before = owner.get(f"/api/conversations/{conv}").json()
    assert other.get(f"/api/conversations/{conv}").status_code == 404
    assert other.send("PATCH", f"/api/conversations/{conv}", json={"title": "x"}).status_code == 404
    assert other.send("DELETE", f"/api/conversations/{conv}").status_code == 404
    r = other.send("POST", f"/api/conversations/{conv}/messages", json={"content": "hi"})
    assert r.status_code == 404
    assert all(c["id"] != conv for c in other.get("/api/conversations").json()["data"])
    assert owner.get(f"/api/conversations/{conv}").json() == before


def test_sigkill_mid_answer_loses_nothing_acknowledged(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path) as url:
        srv = start_server(tmp_path, "--ctx-size", "1024", "--parallel", "2", "--database-url", url)
        b = user(srv, "kill")
        convs = [new_conversation(b, params={"max_tokens": 8}) for _ in range(3)]
        acknowledged: list[str] = []
        for conv in convs:  # complete exchanges first
            start = send(b, conv, "Say hi.")[0][1]
            acknowledged += [start["user_message"]["id"], start["assistant_message"]["id"]]
            # greedy: a long answer every time (sampled ones sometimes end within a second)
            params = {"max_tokens": 800, "temperature": 0}
            b.send("PATCH", f"/api/conversations/{conv}", json={"params": params})
        streaming: set[str] = set()

        def stream(conv: str) -> None:
            try:
                with b.http.stream(
                    "POST", f"/api/conversations/{conv}/messages",
                    json={"content": "Write a very long story about the sea, in ten chapters."},
                    headers={"X-CSRF-Token": b.csrf or ""},
                ) as r:  # fmt: skip
                    for line in r.iter_lines():
                        if line.startswith("data: ") and '"user_message"' in line:
                            acknowledged.append(json.loads(line[6:])["user_message"]["id"])
                        if line.startswith("event: delta"):
                            streaming.add(conv)
            except httpx.HTTPError:
                pass

        threads = [threading.Thread(target=stream, args=(c,)) for c in convs[:2]]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while len(streaming) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(streaming) == 2  # both answers are coming in
        time.sleep(0.7)  # let some progress be saved
        os.kill(srv.process.pid, signal.SIGKILL)
        srv.process.wait(10)
        for t in threads:
            t.join(10)
        if backend == "sqlite":
            path = url.removeprefix("sqlite:///")
            with sqlite3.connect(path) as check:
                assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        again = start_server(
            tmp_path, "--ctx-size", "1024", "--parallel", "2", "--database-url", url
        )
        try:
            b2 = Browser(again.url)
            b2.http.cookies = b.http.cookies
            b2.csrf = b.csrf
            stored: dict[str, dict[str, Any]] = {}
            for conv in convs:
                for m in b2.get(f"/api/conversations/{conv}").json()["messages"]:
                    stored[m["id"]] = m
            # the branch of each conversation shows every acknowledged message
            missing = [m for m in acknowledged if m not in stored]
            assert not missing
            assert all(m["status"] != "streaming" for m in stored.values())
            interrupted = [m for m in stored.values() if m["status"] == "interrupted"]
            assert len(interrupted) >= 1  # killed mid-answer: kept, marked, never 'streaming'
            assert all(m["role"] == "assistant" for m in interrupted)
        finally:
            stop_server(again)
