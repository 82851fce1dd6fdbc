"""`system_prompt` of `/api/conversations` (fast: the scripted engine, in-process HTTP, a
real database on both backends): left out or null, a persona chat takes the persona's
prompt; "" is no system prompt, with or without a persona; PATCH may clear it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.postgres import BACKENDS
from tests.support.web import PASSWORD, scripted_app

PIRATE = "You are a pirate. Answer like a pirate."


@pytest.fixture(scope="module", params=BACKENDS)
def client(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    """One signed-in user of the app, started once for the module."""
    folder = tmp_path_factory.mktemp("conversation-prompts")
    with scripted_app(str(request.param), folder) as http:
        signup = http.post(
            "/api/auth/signup", json={"email": "ann@example.com", "password": PASSWORD}
        )
        assert signup.status_code == 201, signup.text
        http.headers["X-CSRF-Token"] = signup.json()["csrf_token"]
        yield http


@pytest.fixture(scope="module")
def persona(client: TestClient) -> str:
    made = client.post("/api/personas", json={"name": "Pirate", "system_prompt": PIRATE})
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def created(client: TestClient, **body: Any) -> dict[str, Any]:
    reply = client.post("/api/conversations", json=body)
    assert reply.status_code == 201, reply.text
    conv: dict[str, Any] = client.get(f"/api/conversations/{reply.json()['id']}").json()
    assert conv["system_prompt"] == reply.json()["system_prompt"]
    return conv


def test_a_persona_chat_takes_the_personas_prompt_unless_given_one(
    client: TestClient, persona: str
) -> None:
    assert created(client, persona_id=persona)["system_prompt"] == PIRATE
    assert created(client, persona_id=persona, system_prompt=None)["system_prompt"] == PIRATE
    assert (
        created(client, persona_id=persona, system_prompt="Squawk.")["system_prompt"] == "Squawk."
    )


def test_a_cleared_prompt_stays_cleared_in_a_persona_chat(client: TestClient, persona: str) -> None:
    conv = created(client, persona_id=persona, system_prompt="")
    assert conv["system_prompt"] == "" and conv["persona_id"] == persona


def test_without_a_persona_the_prompt_is_empty_unless_given(client: TestClient) -> None:
    assert created(client)["system_prompt"] == ""
    assert created(client, system_prompt=None)["system_prompt"] == ""
    assert created(client, system_prompt="")["system_prompt"] == ""
    assert created(client, system_prompt="Be brief.")["system_prompt"] == "Be brief."


def test_a_prompt_too_long_is_refused(client: TestClient, persona: str) -> None:
    reply = client.post(
        "/api/conversations", json={"persona_id": persona, "system_prompt": "x" * 20001}
    )
    assert reply.status_code == 400, reply.text
    assert reply.json()["error"]["param"] == "system_prompt"


def test_patch_clears_the_prompt_and_null_leaves_it(client: TestClient, persona: str) -> None:
    conv = created(client, persona_id=persona)["id"]
    path = f"/api/conversations/{conv}"
    kept = client.patch(path, json={"system_prompt": None, "title": "Kept"})
    assert kept.status_code == 200, kept.text
    assert kept.json()["system_prompt"] == PIRATE
    cleared = client.patch(path, json={"system_prompt": ""})
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["system_prompt"] == ""
    stored = client.get(path).json()
    assert stored["system_prompt"] == "" and stored["title"] == "Kept"
