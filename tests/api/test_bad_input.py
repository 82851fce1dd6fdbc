"""Bad input a client can send gets a clear 4xx, never a 500 (fast: the scripted engine,
in-process HTTP, a real database on both backends): huge numbers, broken import files,
control characters in accounts, the client's own field paths in validation errors, and a
client that leaves before its answer (499, logged quietly)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from causerie.api.app import create_app
from causerie.core.settings import Settings
from causerie.store.db import Database
from tests.support.fake_engine import ScriptedEngine
from tests.support.postgres import BACKENDS
from tests.support.web import PASSWORD, scripted_app

KEY = "server-key"
V1 = {"Authorization": f"Bearer {KEY}"}
HUGE = 2**63


@pytest.fixture(scope="module", params=BACKENDS)
def app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FastAPI]:
    """The app, started once (its lifespan runs in this TestClient) for the module."""
    folder = tmp_path_factory.mktemp("bad-input")
    with scripted_app(str(request.param), folder, api_key=SecretStr(KEY)) as http:
        yield http.app


def http(app: FastAPI) -> TestClient:
    """One more client with its own cookies (the app is already started)."""
    return TestClient(app, raise_server_exceptions=False)


class Client:
    """A signed-in browser: cookie jar plus the CSRF token."""

    def __init__(self, app: FastAPI, email: str) -> None:
        self.http = http(app)
        signup = self.http.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
        assert signup.status_code == 201, signup.text
        self.user: dict[str, Any] = signup.json()["user"]
        self.headers = {"X-CSRF-Token": signup.json()["csrf_token"]}

    def send(self, method: str, path: str, **kw: Any) -> Any:
        headers = {**self.headers, **kw.pop("headers", {})}
        return self.http.request(method, path, headers=headers, **kw)


@pytest.fixture(scope="module")
def admin(app: FastAPI) -> Client:
    client = Client(app, "root@example.com")  # the first account: the administrator
    assert client.user["role"] == "admin"
    return client


def refused(reply: Any, param: str | None = None, status: int = 400) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    error: dict[str, Any] = reply.json()["error"]
    assert error["type"] == "invalid_request_error"
    if param is not None:
        assert error["param"] == param, error
    return error


# --- C1: numbers beyond what a database column holds -----------------------------------------


@pytest.mark.parametrize("path", ["/api/conversations", "/api/search?q=hi", "/api/admin/users"])
@pytest.mark.parametrize("offset", [HUGE, 2**31])
def test_huge_offsets_are_400(admin: Client, path: str, offset: int) -> None:
    sep = "&" if "?" in path else "?"
    error = refused(admin.send("GET", f"{path}{sep}offset={offset}"), "offset")
    assert "less than or equal to" in error["message"]


def test_the_largest_offset_allowed_pages_past_the_end(admin: Client) -> None:
    reply = admin.send("GET", f"/api/conversations?offset={2**31 - 1}")
    assert reply.status_code == 200 and reply.json()["data"] == []


@pytest.mark.parametrize("field", ["requests_per_minute", "tokens_per_day"])
def test_quotas_beyond_the_column_are_400_and_the_largest_is_kept(
    admin: Client, field: str
) -> None:
    user = f"/api/admin/users/{admin.user['id']}"
    for value in (2**64, 2**31):
        refused(admin.send("PATCH", user, json={field: value}), field)
    kept = admin.send("PATCH", user, json={field: 10**9})
    assert kept.status_code == 200 and kept.json()[field] == 10**9
    assert admin.send("PATCH", user, json={field: None}).json()[field] is None


# --- C2: import files that cannot be stored --------------------------------------------------


@pytest.mark.parametrize(
    ("body", "hint"),
    [
        (b'[{"title": "\\ud800", "mapping": {}}]', "[0].title is not valid Unicode"),
        (b'[{"title": "t", "mapping": {"\\udfff": {}}}]', "a key in [0].mapping"),
        (b'[{"title": "nul\\u0000", "mapping": {}}]', "NUL character"),
        (b'[{"title": "t", "create_time": 1e300, "mapping": {}}]', "[0].create_time"),
        (b'[{"title": "t", "create_time": NaN, "mapping": {}}]', "[0].create_time"),
        (b'[{"title": "t", "update_time": -1e20, "mapping": {}}]', "[0].update_time"),
        (b'[{"title": "t", "mapping": {"a": {"message": {"create_time": "x"}}}}]', "'x'"),
        (b'[{"title": "t", "mapping": {"a": {"message": {"create_time": [1]}}}}]', "[1]"),
        (b"[" * 50_000, "nested too deeply"),
        (b'{"a": ' * 50_000, "nested too deeply"),
    ],
)
def test_bad_import_files_are_400_and_write_nothing(admin: Client, body: bytes, hint: str) -> None:
    before = admin.send("GET", "/api/conversations").json()["total"]
    error = refused(admin.send("POST", "/api/import", content=body))
    assert hint in error["message"], error
    assert admin.send("GET", "/api/conversations").json()["total"] == before


def test_a_causerie_export_with_an_out_of_range_time_names_it(admin: Client) -> None:
    export = {"format": "causerie", "version": 1, "conversations": [
        {"title": "t", "messages": [{"id": "a", "role": "user", "content": "hi"},
                                    {"id": "b", "parent_id": "a", "role": "assistant",
                                     "content": "yo", "created_at": "0001-01-01T00:00:00+05:00"}]}
    ]}  # fmt: skip
    error = refused(admin.send("POST", "/api/import", content=json.dumps(export).encode()))
    assert "conversations[0].messages[1].created_at" in error["message"]


# --- C4: accounts -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "email",
    ["n\u0000@x.io", "a\u001b@x.io", "a\tb@x.io", "a\u200b@x.io", "a@x\u202e.io", "a b@x.io"],
)
def test_emails_with_control_characters_or_spaces_are_400(app: FastAPI, email: str) -> None:
    body = {"email": email, "password": PASSWORD}
    error = refused(http(app).post("/api/auth/signup", json=body), "email")
    assert "valid email" in error["message"]
    refused(http(app).post("/api/auth/login", json=body), "email")


@pytest.mark.parametrize(
    ("raw", "param"),
    [
        (b'{"email": "\\ud800@x.io", "password": "correct horse battery"}', "email"),
        (b'{"email": "s1@x.io", "password": "correct horse \\udc00"}', "password"),
        (b'{"email": "s2@x.io", "password": "correct horse", "name": "\\ud800"}', "name"),
        (b'{"email": "s3@x.io", "password": "correct horse", "name": "a\\u0000b"}', "name"),
    ],
)
def test_lone_surrogates_and_nul_in_signup_are_400(app: FastAPI, raw: bytes, param: str) -> None:
    headers = {"content-type": "application/json"}
    refused(http(app).post("/api/auth/signup", content=raw, headers=headers), param)


def test_names_with_control_characters_are_400_for_admins_and_keys(admin: Client) -> None:
    user = f"/api/admin/users/{admin.user['id']}"
    refused(admin.send("PATCH", user, json={"name": "x\u0000"}), "name")
    refused(admin.send("POST", "/api/keys", json={"name": "k\u0007"}), "name")
    body = {"email": "made@example.com", "password": PASSWORD, "name": "\u0000"}
    refused(admin.send("POST", "/api/admin/users", json=body), "name")


# --- C5: the client's field paths in validation errors ----------------------------------------


def chat(**extra: Any) -> dict[str, Any]:
    return {"model": "scripted", "messages": [{"role": "user", "content": "Hi"}], **extra}


IMAGE = {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
AUDIO = {"type": "input_audio", "input_audio": {"data": "", "format": "wav"}}
WITH_IMAGE = [{"role": "user", "content": [{"type": "text", "text": "What is this?"}, IMAGE]}]
WITH_AUDIO = [{"role": "user", "content": [AUDIO]}]
NOT_TEXT = [{"role": "user", "content": 5}]
CHAT, TEXT = "/v1/chat/completions", "/v1/completions"


@pytest.mark.parametrize(
    ("path", "body", "param", "says"),
    [
        (CHAT, chat(messages=WITH_IMAGE), "messages[0].content[1]", "Image input is not supported"),
        (CHAT, chat(messages=WITH_AUDIO), "messages[0].content[0]", "Audio input is not supported"),
        (CHAT, chat(messages=NOT_TEXT), "messages[0].content", "a valid string or a valid list"),
        (CHAT, chat(stop=5), "stop", "a valid string or a valid list"),
        (CHAT, chat(tool_choice=[1]), "tool_choice", "a valid string or a valid dictionary"),
        (TEXT, {"model": "scripted", "prompt": [1, 2, 3]}, "prompt[0]", "a valid string"),
    ],
)
def test_validation_errors_name_the_clients_field(
    app: FastAPI, path: str, body: dict[str, Any], param: str, says: str
) -> None:
    error = refused(http(app).post(path, json=body, headers=V1), param)
    assert says in error["message"] and ".str" not in error["message"], error


def test_uploads_without_a_filename_say_what_to_send(admin: Client) -> None:
    error = refused(admin.send("POST", "/api/documents", content=b"hello"), "filename")
    assert "?filename=" in error["message"] and "query" not in str(error["param"])
    multipart = admin.send("POST", "/api/documents", files={"file": ("a.txt", b"hello")})
    assert "?filename=" in refused(multipart)["message"]
    assert admin.send("GET", "/api/documents").json()["data"] == []


# --- C3: a client that leaves a non-streaming request ----------------------------------------


async def _leave_early(tmp_path: Path) -> list[dict[str, Any]]:
    """POST /v1/completions and disconnect 0.2 s later, before the (slow) answer."""
    db = Database(f"sqlite:///{tmp_path / 'causerie.db'}")
    engine = ScriptedEngine(("Hello", " there", "!"), delay=0.5)
    app = create_app(Settings(data_dir=tmp_path, api_key=SecretStr(KEY)), engine, db=db)
    body = json.dumps({"model": "scripted", "prompt": "Hi", "max_tokens": None}).encode()
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/v1/completions", "raw_path": b"/v1/completions",
        "query_string": b"", "root_path": "", "client": ("127.0.0.1", 1), "server": ("t", 80),
        "headers": [(b"authorization", f"Bearer {KEY}".encode()),
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode())],
    }  # fmt: skip
    requests = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if requests:
            return requests.pop()
        await asyncio.sleep(0.2)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async with app.router.lifespan_context(app):
        await asyncio.wait_for(app(scope, receive, send), timeout=10)
    db.close()
    return sent


def test_a_client_leaving_a_non_streaming_request_is_logged_quietly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    sent = asyncio.run(_leave_early(tmp_path))
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 499
    records = [r for r in caplog.records if r.name.startswith("causerie")]
    assert not [r for r in records if r.levelno >= logging.WARNING], records
    assert not [r for r in records if r.exc_info]
    assert any("client disconnected" in r.getMessage() for r in records)


# --- NUL characters: PostgreSQL cannot store them ----------------------------------------


def test_text_with_a_nul_character_is_400_on_every_write_and_nothing_is_written(
    admin: Client,
) -> None:
    nul = "a\u0000b"
    refused(admin.send("POST", "/api/conversations", json={"title": nul}))
    conv = admin.send("POST", "/api/conversations", json={}).json()["id"]
    for change in ({"title": nul}, {"system_prompt": nul}):
        refused(admin.send("PATCH", f"/api/conversations/{conv}", json=change))
    refused(admin.send("POST", f"/api/conversations/{conv}/messages", json={"content": nul}))
    refused(admin.send("POST", "/api/personas", json={"name": nul, "system_prompt": "x"}))
    refused(admin.send("POST", "/api/collections", json={"name": nul}))
    view = admin.send("GET", f"/api/conversations/{conv}").json()
    assert view["title"] != nul and view["system_prompt"] == "" and view["messages"] == []
    names = [p["name"] for p in admin.send("GET", "/api/personas").json()["data"]]
    assert nul not in names
