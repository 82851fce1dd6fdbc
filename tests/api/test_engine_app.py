"""The engine-replica app: /v1 behind the server key, the replica named on every response,
no user routes. (The scripted engine here; the real model behind Ray Serve in
tests/cluster/test_ray_serve.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from causerie.api.engine_app import REPLICA_HEADER, create_engine_app
from causerie.core.settings import Settings
from tests.support.fake_engine import ScriptedEngine

KEY = "replica-key"
CHAT = {"model": "scripted", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path, api_key=SecretStr(KEY))
    app = create_engine_app(settings, ScriptedEngine(), replica="node-1/abc")
    with TestClient(app) as test_client:
        yield test_client


def test_chat_needs_the_server_key_and_names_the_replica(client: TestClient) -> None:
    refused = client.post("/v1/chat/completions", json=CHAT)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "invalid_api_key"
    assert refused.headers[REPLICA_HEADER] == "node-1/abc"
    wrong = client.post("/v1/chat/completions", json=CHAT, headers={"Authorization": "Bearer x"})
    assert wrong.status_code == 401
    ok = client.post("/v1/chat/completions", json=CHAT, headers={"Authorization": f"Bearer {KEY}"})
    assert ok.status_code == 200, ok.text
    assert ok.json()["choices"][0]["message"]["content"] == "Hello there!"
    assert ok.headers[REPLICA_HEADER] == "node-1/abc"


def test_streams_carry_the_header_and_every_frame(client: TestClient) -> None:
    with client.stream(
        "POST", "/v1/chat/completions", json={**CHAT, "stream": True},
        headers={"Authorization": f"Bearer {KEY}"},
    ) as response:  # fmt: skip
        body = "".join(response.iter_text())
    assert response.headers[REPLICA_HEADER] == "node-1/abc"
    assert body.count("data: ") == 6 and body.rstrip().endswith("data: [DONE]")


def test_health_is_public_and_user_routes_do_not_exist(client: TestClient) -> None:
    health = client.get("/health")
    assert health.status_code == 200 and health.json()["models"] == ["scripted"]
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
    assert client.get("/api/conversations").status_code == 404
    assert client.get("/").status_code == 404
