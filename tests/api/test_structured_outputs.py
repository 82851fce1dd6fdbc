"""Structured outputs through the real server on the bundled model, with the official
`openai` client: json_schema (strict) and json_object answers always parse and validate,
and bad response formats are 400s."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import jsonschema
import openai
import pytest
from openai import OpenAI

from tests.conftest import API_KEY, Server

MODEL = "smollm2-135m"
PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 40},
        "age": {"type": "integer", "minimum": 0, "maximum": 150},
        "city": {"type": "string", "maxLength": 40},
        "hobbies": {
            "type": "array",
            "items": {"type": "string", "maxLength": 30},
            "maxItems": 3,
        },
        "employed": {"type": "boolean"},
        "kind": {"enum": ["friend", "colleague", "stranger"]},
    },
    "required": ["name", "age", "city", "hobbies", "employed", "kind"],
    "additionalProperties": False,
}
SUBJECTS = [
    "a retired sailor", "a young painter", "my neighbour", "a famous chef", "a nurse",
    "a chess champion", "a child who loves trains", "a baker in Lyon", "an astronaut",
    "a gardener", "a violinist", "a taxi driver", "a librarian", "a surfer", "a farmer",
    "a poet", "a mechanic", "a teacher", "a software engineer", "a mountain guide",
]  # fmt: skip


@pytest.fixture(scope="module")
def client(server: Server) -> OpenAI:
    return OpenAI(base_url=server.v1, api_key=API_KEY, max_retries=0, timeout=180)


def _person(client: OpenAI, subject: str) -> str:
    reply = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": f"Describe {subject} as a JSON object."}],
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "person", "schema": PERSON, "strict": True},
        },
        temperature=0.7,
        max_tokens=400,
    )
    text = reply.choices[0].message.content or ""
    assert reply.choices[0].finish_reason == "stop", text
    return text


def test_twenty_strict_schema_answers_validate(client: OpenAI) -> None:
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda s: _person(client, s), SUBJECTS))
    assert len(answers) == 20
    for text in answers:
        jsonschema.validate(json.loads(text), PERSON)


def test_json_object_mode(client: OpenAI) -> None:
    """Whenever the answer ends by itself (not cut by max_tokens), it is a JSON object."""
    stopped = 0
    for seed, stream in [(1, False), (2, True), (3, False), (4, True)]:
        kwargs: dict[str, Any] = dict(
            model=MODEL,
            messages=[{"role": "user", "content": "Give me a short JSON object about a cat."}],
            response_format={"type": "json_object"},
            temperature=0.7,
            max_tokens=400,
            seed=seed,
        )
        if stream:
            chunks = list(client.chat.completions.create(stream=True, **kwargs))
            text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
            finish = [c.choices[0].finish_reason for c in chunks if c.choices][-1]
        else:
            choice = client.chat.completions.create(**kwargs).choices[0]
            text, finish = choice.message.content or "", choice.finish_reason
        assert text.lstrip().startswith("{")
        if finish == "stop":
            assert isinstance(json.loads(text), dict)
            stopped += 1
    assert stopped >= 2


def test_nested_schema_with_refs(client: OpenAI) -> None:
    schema = {
        "$defs": {"point": {"type": "object", "properties": {"x": {"type": "number"},
                  "y": {"type": "number"}}, "required": ["x", "y"]}},
        "type": "object",
        "properties": {"path": {"type": "array", "items": {"$ref": "#/$defs/point"},
                       "minItems": 2, "maxItems": 3}},
        "required": ["path"],
    }  # fmt: skip
    reply = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "A path of points, as JSON."}],
        response_format={"type": "json_schema", "json_schema": {"name": "p", "schema": schema}},
        temperature=0,
        max_tokens=200,
    )
    jsonschema.validate(json.loads(reply.choices[0].message.content or ""), schema)


@pytest.mark.parametrize(
    "response_format",
    [
        {"type": "json_schema"},
        {"type": "json_schema", "json_schema": {"name": "x"}},
        {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "bogus"}}},
        {"type": "yaml"},
    ],
)
def test_bad_response_formats_are_400(client: OpenAI, response_format: dict[str, Any]) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": "hi"}],
            response_format=response_format,  # type: ignore[arg-type]
            max_tokens=5,
        )
    assert info.value.body["param"] == "response_format"  # type: ignore[index]


def test_strict_schema_with_unenforceable_keyword_is_400(client: OpenAI) -> None:
    schema = {"type": "object", "properties": {"x": {"type": "number", "multipleOf": 3}}}
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": "hi"}],
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "x", "schema": schema, "strict": True},
            },
            max_tokens=5,
        )
    assert "multipleOf" in info.value.body["message"]  # type: ignore[index]


def test_ignore_eos_with_schema_is_400(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": "hi"}],
            response_format={"type": "json_object"},
            max_tokens=5,
            extra_body={"ignore_eos": True},
        )
