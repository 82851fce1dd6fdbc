"""The cross-user sweep: every route of the OpenAPI schema is called by a second user with
the first user's ids in the path, the query and the body. Each answers 404 (403 for
admin-only routes), leaks none of the first user's data, and changes nothing of it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.test_conversations import new_conversation, send, user
from tests.conftest import Server
from tests.support.postgres import BACKENDS
from tests.support.web import Browser, app_server

CANARY = "canary-7f3a-do-not-leak"
PUBLIC = {
    ("GET", "/health"), ("GET", "/api/auth/status"), ("POST", "/api/auth/signup"),
    ("POST", "/api/auth/login"), ("GET", "/api/shared/{share_id}"),
}  # fmt: skip
SELF_ONLY = {("POST", "/api/auth/logout"), ("POST", "/api/auth/password")}


@pytest.fixture(scope="module", params=BACKENDS)
def app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    with app_server(str(request.param), tmp_path_factory.mktemp("sweep")) as srv:
        yield srv


def alice_world(alice: Browser) -> dict[str, str]:
    conv = new_conversation(
        alice, title=f"title {CANARY}", params={"temperature": 0, "max_tokens": 4}
    )
    events = send(alice, conv, f"my secret is {CANARY}")
    persona = alice.send("POST", "/api/personas", json={"name": f"persona {CANARY}"}).json()
    share = alice.send("POST", f"/api/conversations/{conv}/shares").json()
    key = alice.send("POST", "/api/keys", json={"name": "alice key"}).json()
    document = alice.send(
        "POST", "/api/documents/text", json={"text": f"doc {CANARY}"}, params={"wait": "true"}
    ).json()
    collection = alice.send("POST", "/api/collections", json={"name": f"col {CANARY}"}).json()
    alice.send("PUT", f"/api/collections/{collection['id']}/documents/{document['id']}")
    attachment = alice.send(
        "POST", f"/api/conversations/{conv}/attachments", json={"collection_id": collection["id"]}
    ).json()
    alice.send(
        "POST", f"/api/personas/{persona['id']}/attachments", json={"document_id": document["id"]}
    )
    return {
        "conversation_id": conv,
        "message_id": events[0][1]["assistant_message"]["id"],
        "parent_id": events[0][1]["user_message"]["id"],
        "persona_id": persona["id"],
        "share_id": share["id"],
        "key_id": key["id"],
        "document_id": document["id"],
        "collection_id": collection["id"],
        "attachment_id": attachment["id"],
        "user_id": alice.user["id"],
        "model_id": conv,
    }


def snapshot(alice: Browser, admin: Browser, ids: dict[str, str]) -> str:
    """Everything of Alice's, as she (and the admin) can read it."""
    views = [
        alice.get(f"/api/conversations/{ids['conversation_id']}").json(),
        alice.get("/api/conversations").json(),
        alice.get("/api/personas").json(),
        alice.get(f"/api/conversations/{ids['conversation_id']}/shares").json(),
        [
            {k: v for k, v in key.items() if k != "last_used_at"}
            for key in alice.get("/api/keys").json()["data"]
        ],
        alice.get("/api/me/settings").json(),
        alice.get("/api/documents").json(),
        alice.get("/api/collections").json(),
        alice.get(f"/api/collections/{ids['collection_id']}/documents").json(),
        alice.get(f"/api/conversations/{ids['conversation_id']}/attachments").json(),
        alice.get(f"/api/personas/{ids['persona_id']}/attachments").json(),
        admin.get(f"/api/admin/users/{ids['user_id']}").json(),
    ]
    return json.dumps(views, sort_keys=True)


def resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def value_for(name: str, schema: dict[str, Any], spec: dict[str, Any], ids: dict[str, str]) -> Any:
    schema = resolve(schema, spec)
    if name in ids:
        return ids[name]
    if name == "tool":  # a real tool name, so that only ownership can refuse the request
        return "calculator"
    if "anyOf" in schema:
        options = [s for s in schema["anyOf"] if s.get("type") != "null"]
        return value_for(name, options[0], spec, ids) if options else None
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        return {k: value_for(k, v, spec, ids) for k, v in props.items()}
    if kind == "array":
        return []
    if kind == "integer":
        return max(1, int(schema.get("minimum", 1)))
    if kind == "number":
        return float(schema.get("minimum", schema.get("exclusiveMinimum", 0.0)) or 0.5)
    if kind == "boolean":
        return True
    return "x" * max(1, int(schema.get("minLength", 1)))


def body_for(op: dict[str, Any], spec: dict[str, Any], ids: dict[str, str]) -> Any:
    content = op.get("requestBody", {}).get("content", {}).get("application/json")
    return value_for("body", content["schema"], spec, ids) if content else None


def test_second_user_sweep(app: Server) -> None:
    admin = user(app, "admin")
    alice, bob = user(app, "alice"), user(app, "bob")
    assert admin.user["role"] == "admin" and bob.user["role"] == "user"
    ids = alice_world(alice)
    secrets = [v for k, v in ids.items() if k != "model_id"] + [CANARY]
    before = snapshot(alice, admin, ids)
    spec = bob.get("/openapi.json").json()
    called = 0
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if (method.upper(), path) in PUBLIC | SELF_ONLY or path.startswith("/v1/"):
                continue
            url = path
            for param in op.get("parameters", []):
                if param["in"] == "path":
                    url = url.replace("{" + param["name"] + "}", ids[param["name"]])
            query = {
                p["name"]: ids[p["name"]] if p["name"] in ids else (CANARY if p["name"] == "q" else None)
                for p in op.get("parameters", []) if p["in"] == "query"
            }  # fmt: skip
            query = {k: v for k, v in query.items() if v is not None}
            body = body_for(op, spec, ids)
            response = bob.send(method.upper(), url, params=query, json=body)
            called += 1
            where = f"{method.upper()} {path}"
            assert response.status_code < 500, where
            if "{" in path or any(k.endswith("_id") for k in query):
                expected = 403 if path.startswith("/api/admin") else 404
                assert response.status_code == expected, (
                    where,
                    response.status_code,
                    response.text,
                )
            elif path.startswith("/api/admin"):
                assert response.status_code == 403, where
            for secret in secrets:
                assert secret not in response.text, (where, secret)
    assert called >= 25
    assert snapshot(alice, admin, ids) == before
    # Bob's own key and conversations never see Alice's either
    assert bob.get("/api/search", params={"q": CANARY}).json()["data"] == []
