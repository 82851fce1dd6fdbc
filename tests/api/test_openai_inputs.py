"""Inputs found by fuzzing the OpenAI-compatible API, through a real uvicorn server on the
bundled model: each is a 400 naming its field, quickly, and the server keeps serving."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from openai import OpenAI

from tests.conftest import API_KEY, Server

MODEL = "smollm2-135m"
USER = [{"role": "user", "content": "Say hi."}]


def schema(body: dict[str, object], strict: bool) -> dict[str, object]:
    spec = {"name": "x", "strict": strict, "schema": body}
    return {"type": "json_schema", "json_schema": spec}


def body(**fields: object) -> bytes:
    return json.dumps({"model": MODEL, "messages": USER, **fields}).encode()


SURROGATE = b'{"model": "smollm2-135m", "messages": [{"role": "user", "content": "hi \\ud800"}]'


@pytest.mark.parametrize(
    ("raw", "param"),
    [
        (SURROGATE + b"}", "messages"),  # valid JSON, not valid Unicode
        (SURROGATE + b', "stream": true}', "messages"),
        (body(logit_bias={"99999999": 5}), "logit_bias"),
        (
            body(response_format=schema({"type": "string", "minLength": 10**9}, True)),
            "response_format",
        ),
        (body(response_format=schema({"enum": []}, False)), "response_format"),
        (body(messages=[{"role": "user", "content": "x"}] * 9000), "messages"),
    ],
)
def test_bad_input_is_a_400_naming_its_field(server: Server, raw: bytes, param: str) -> None:
    started = time.monotonic()
    response = httpx.post(
        server.v1 + "/chat/completions",
        content=raw,
        headers={"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"},
        timeout=60,
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param
    assert time.monotonic() - started < 20  # refused, not worked through


def test_a_huge_repeat_count_left_unenforced_still_answers(server: Server) -> None:
    client = OpenAI(base_url=server.v1, api_key=API_KEY, max_retries=0, timeout=120)
    fmt = schema({"type": "array", "items": {"type": "integer"}, "minItems": 10**9}, False)
    reply = client.chat.completions.create(
        model=MODEL,
        messages=USER,
        max_tokens=8,
        response_format=fmt,  # type: ignore[arg-type]
    )
    assert reply.choices[0].message.content is not None
