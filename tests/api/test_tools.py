"""Tools through the real server on the bundled model, with the official `openai` client:
forced calls parse in streaming and non-streaming mode, parallel calls, a full round trip
(call -> tool message -> answer), and 400s for what cannot work."""

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
WEATHER_PARAMS = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "maxLength": 30},
        "unit": {"enum": ["celsius", "fahrenheit"]},
    },
    "required": ["city", "unit"],
}
TIME_PARAMS = {
    "type": "object",
    "properties": {"timezone": {"type": "string", "maxLength": 30}},
    "required": ["timezone"],
}
TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The current weather in a city.",
            "parameters": WEATHER_PARAMS,
        },
    },
    {
        "type": "function",
        "function": {
            "name": "get_time",
            "description": "The current time in a timezone.",
            "parameters": TIME_PARAMS,
        },
    },
]
SCHEMAS = {"get_weather": WEATHER_PARAMS, "get_time": TIME_PARAMS}
ASK: list[Any] = [{"role": "user", "content": "What is the weather in Paris and in Rome?"}]


@pytest.fixture(scope="module")
def client(server: Server) -> OpenAI:
    return OpenAI(base_url=server.v1, api_key=API_KEY, max_retries=0, timeout=180)


def _check(name: str, arguments: str) -> None:
    assert name in SCHEMAS
    jsonschema.validate(json.loads(arguments), SCHEMAS[name])


def test_required_non_streaming(client: OpenAI) -> None:
    reply = client.chat.completions.create(
        model=MODEL, messages=ASK, tools=TOOLS, tool_choice="required",
        temperature=0.7, max_tokens=200, parallel_tool_calls=False,
    )  # fmt: skip
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls or []
    assert len(calls) == 1
    assert calls[0].type == "function" and calls[0].id.startswith("call_")
    _check(calls[0].function.name, calls[0].function.arguments)  # type: ignore[union-attr]


def test_named_function_streaming(client: OpenAI) -> None:
    stream = client.chat.completions.create(
        model=MODEL, messages=ASK, tools=TOOLS, stream=True, temperature=0.7, max_tokens=200,
        tool_choice={"type": "function", "function": {"name": "get_time"}},
    )  # fmt: skip
    calls: dict[int, dict[str, str]] = {}
    finish = None
    content = ""
    for chunk in stream:
        if not chunk.choices:
            continue
        delta = chunk.choices[0].delta
        content += delta.content or ""
        for part in delta.tool_calls or []:
            entry = calls.setdefault(part.index, {"id": "", "name": "", "arguments": ""})
            entry["id"] += part.id or ""
            if part.function is not None:
                entry["name"] += part.function.name or ""
                entry["arguments"] += part.function.arguments or ""
        finish = chunk.choices[0].finish_reason or finish
    assert finish == "tool_calls"
    assert content == ""
    assert list(calls) == [0]
    assert calls[0]["name"] == "get_time" and calls[0]["id"].startswith("call_")
    _check(calls[0]["name"], calls[0]["arguments"])


def test_parallel_calls(client: OpenAI) -> None:
    def ask(seed: int) -> int:
        reply = client.chat.completions.create(
            model=MODEL, messages=ASK, tools=TOOLS, tool_choice="required",
            temperature=0.9, max_tokens=300, seed=seed,
        )  # fmt: skip
        assert reply.choices[0].finish_reason == "tool_calls"
        calls = reply.choices[0].message.tool_calls or []
        assert 1 <= len(calls) <= 4
        for call in calls:
            _check(call.function.name, call.function.arguments)  # type: ignore[union-attr]
        assert len({c.id for c in calls}) == len(calls)
        return len(calls)

    with ThreadPoolExecutor(4) as pool:
        seen = list(pool.map(ask, range(4)))
    assert max(seen) >= 2, seen


def test_required_streaming_indexes_each_call(client: OpenAI) -> None:
    stream = client.chat.completions.create(
        model=MODEL, messages=ASK, tools=TOOLS, tool_choice="required", stream=True,
        temperature=0.9, max_tokens=300, seed=1,
    )  # fmt: skip
    parts = [
        part
        for chunk in stream
        if chunk.choices
        for part in chunk.choices[0].delta.tool_calls or []
    ]
    assert [p.index for p in parts] == list(range(len(parts))) and parts
    assert len({p.id for p in parts}) == len(parts)
    for part in parts:
        assert part.function is not None and part.function.name
        _check(part.function.name, part.function.arguments or "")


def test_full_round_trip(client: OpenAI) -> None:
    first = client.chat.completions.create(
        model=MODEL, messages=ASK, tools=TOOLS, temperature=0, max_tokens=200,
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
    )  # fmt: skip
    call = (first.choices[0].message.tool_calls or [])[0]
    messages: list[Any] = [
        *ASK,
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": '{"temperature": 21, "sky": "sunny"}'},
    ]
    final = client.chat.completions.create(
        model=MODEL, messages=messages, tools=TOOLS, tool_choice="none",
        temperature=0, max_tokens=60,
    )  # fmt: skip
    answer = final.choices[0]
    assert answer.finish_reason in ("stop", "length")
    assert answer.message.tool_calls is None
    assert (answer.message.content or "").strip()
    auto = client.chat.completions.create(
        model=MODEL, messages=messages, tools=TOOLS, temperature=0, max_tokens=60,
    )  # fmt: skip
    assert auto.choices[0].message.content or auto.choices[0].message.tool_calls


def test_auto_mode_streaming_and_non_streaming(client: OpenAI) -> None:
    kwargs: dict[str, Any] = dict(
        model=MODEL, messages=ASK, tools=TOOLS, temperature=0, max_tokens=80
    )
    whole = client.chat.completions.create(**kwargs).choices[0]
    for call in whole.message.tool_calls or []:
        _check(call.function.name, call.function.arguments)  # type: ignore[union-attr]
    assert "<tool_call>" not in (whole.message.content or "") or not whole.message.tool_calls
    text, names = "", []
    for chunk in client.chat.completions.create(stream=True, **kwargs):
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
            for part in chunk.choices[0].delta.tool_calls or []:
                assert part.function is not None and part.function.name
                _check(part.function.name, part.function.arguments or "")
                names.append(part.function.name)
    assert "<tool_call>" not in text or not names
    assert text or names


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"tool_choice": {"type": "function", "function": {"name": "nope"}}}, "tool_choice"),
        ({"tool_choice": "sometimes"}, "tool_choice"),
        ({"response_format": {"type": "json_object"}}, "response_format"),
        ({"logprobs": True}, "logprobs"),
        ({"n": 2}, "n"),
    ],
)
def test_unsupported_combinations_are_400(
    client: OpenAI, extra: dict[str, Any], param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(
            model=MODEL, messages=ASK, tools=TOOLS, max_tokens=5, **extra
        )
    assert info.value.body["param"] == param  # type: ignore[index]


def test_tool_choice_without_tools_and_bad_tool_message_are_400(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(
            model=MODEL, messages=ASK, tool_choice="required", max_tokens=5
        )
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(
            model=MODEL, messages=[*ASK, {"role": "tool", "content": "x"}], max_tokens=5
        )
