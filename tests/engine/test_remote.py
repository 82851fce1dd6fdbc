"""RemoteEngine against a real `causerie serve` upstream (the session server): streaming chat
and completions, usage, model refresh, error mapping and cancellation; a scripted transport
for what a live server will not do on demand (dying mid-answer, 503 with Retry-After)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Coroutine
from typing import Any, TypeVar

import httpx
import pytest

from causerie.core.errors import (
    ContextLengthExceededError,
    EngineOverloadedError,
    EngineUnavailableError,
    InvalidRequestError,
    ModelNotFoundError,
    UnsupportedParameterError,
)
from causerie.core.types import (
    GenerationRequest,
    Message,
    OutputFormat,
    SamplingParams,
    StreamEvent,
    ToolCall,
    ToolSpec,
)
from causerie.engine.remote import RemoteEngine, RemoteOptions
from causerie.engine.remote_wire import request_body
from tests.conftest import API_KEY, Server, free_port

T = TypeVar("T")
MODEL = "smollm2-135m"


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def chat(content: str = "Say hello.", **params: Any) -> GenerationRequest:
    return GenerationRequest(
        model="",
        params=SamplingParams(**{"max_tokens": 8, "temperature": 0.0, **params}),
        messages=(Message("user", content),),
    )


async def with_engine(url: str, body: Any, key: str | None = API_KEY, **kw: Any) -> Any:
    engine = RemoteEngine(RemoteOptions(url=url, model=MODEL, api_key=key, **kw))
    await engine.start()
    try:
        return await body(engine)
    finally:
        await engine.close()


async def drain(stream: Any) -> list[StreamEvent]:
    return [event async for event in stream]


def test_streams_a_chat_answer_with_usage(server: Server) -> None:
    async def body(engine: RemoteEngine) -> None:
        assert engine.models()[0].context_length == 1024  # refreshed from upstream
        events = await drain(await engine.submit(chat()))
        assert events[-1].finish_reason in ("stop", "length")
        assert "".join(e.text for e in events).strip()
        usage = events[-1].usage
        assert usage is not None and usage.prompt_tokens > 5 and usage.completion_tokens > 0
        assert engine.stats()["running"] == 0

    run(with_engine(server.v1, body))


def test_raw_prompt_uses_completions(server: Server) -> None:
    async def body(engine: RemoteEngine) -> None:
        request = GenerationRequest(
            model=MODEL, params=SamplingParams(max_tokens=5, temperature=0), prompt="1, 2, 3,"
        )
        events = await drain(await engine.submit(request))
        assert events[-1].finish_reason == "length"
        assert events[-1].usage is not None and events[-1].usage.completion_tokens == 5

    run(with_engine(server.v1, body))


def test_upstream_errors_map_to_causerie_errors(server: Server) -> None:
    async def body(engine: RemoteEngine) -> None:
        with pytest.raises(ContextLengthExceededError):
            await engine.submit(chat("word " * 3000))
        with pytest.raises(InvalidRequestError):
            await engine.submit(chat(temperature=5.0))
        with pytest.raises(ModelNotFoundError):
            await engine.submit(GenerationRequest(model="other", params=SamplingParams()))
        assert await engine.healthy()

    run(with_engine(server.v1, body))

    async def bad_key(engine: RemoteEngine) -> None:
        assert not await engine.healthy()
        with pytest.raises(EngineUnavailableError):
            await engine.submit(chat())

    run(with_engine(server.v1, bad_key, key="wrong"))


def test_unreachable_upstream_is_unavailable() -> None:
    async def body(engine: RemoteEngine) -> None:
        assert not await engine.healthy()
        with pytest.raises(EngineUnavailableError):
            await engine.submit(chat())

    run(with_engine(f"http://127.0.0.1:{free_port()}/v1", body, connect_timeout=1))


def test_closing_the_stream_cancels_the_upstream_request(server: Server) -> None:
    async def body(engine: RemoteEngine) -> None:
        stream = await engine.submit(
            chat("Write a very long story.", max_tokens=900, ignore_eos=True)
        )
        seen = 0
        async for event in stream:
            seen += 1 if event.text else 0
            if seen >= 3:
                break
        await stream.aclose()
        assert engine.stats()["running"] == 0
        deadline = time.monotonic() + 15
        async with httpx.AsyncClient() as client:
            while time.monotonic() < deadline:
                health = (await client.get(server.url + "/health")).json()
                if health["running"] == 0:
                    return
                await asyncio.sleep(0.1)
        raise AssertionError("the upstream kept generating after the stream was closed")

    run(with_engine(server.v1, body))


# --- scripted upstream ------------------------------------------------------------------
def chunk(text: str = "", finish: str | None = None, **extra: Any) -> bytes:
    body = {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}]}
    return f"data: {json.dumps({**body, **extra})}\n\n".encode()


class Dying(httpx.AsyncByteStream):
    """Sends a few chunks, then the connection breaks."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield chunk("Hel")
        yield chunk("lo")
        raise httpx.ReadError("connection reset by peer")


def scripted(handler: Any) -> RemoteEngine:
    return RemoteEngine(
        RemoteOptions(url="http://upstream.test/v1", model="m"), httpx.MockTransport(handler)
    )


def test_mid_answer_failure_ends_with_an_error_event() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/models"):
            return httpx.Response(200, json={"data": [{"id": "m", "context_length": 2048}]})
        return httpx.Response(200, stream=Dying())

    async def go() -> None:
        engine = scripted(handler)
        await engine.start()
        events = await drain(await engine.submit(chat()))
        assert "".join(e.text for e in events) == "Hello"
        assert events[-1].finish_reason == "error"
        assert events[-1].error and "failed while answering" in events[-1].error
        assert engine.models()[0].context_length == 2048
        await engine.close()

    run(go())


def test_busy_upstream_is_overloaded_with_retry_after_and_tool_calls_come_back_as_text() -> None:
    calls: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/models"):
            return httpx.Response(200, json={"data": []})
        calls.append(json.loads(request.content))
        if len(calls) == 1:
            return httpx.Response(
                503, headers={"Retry-After": "7"}, json={"error": {"message": "full"}}
            )
        tool = {"index": 0, "id": "c1", "function": {"name": "get_time", "arguments": '{"tz": '}}
        more = {"index": 0, "function": {"arguments": '"UTC"}'}}
        lines = [
            f"data: {json.dumps({'choices': [{'delta': {'tool_calls': [tool]}}]})}\n\n",
            f"data: {json.dumps({'choices': [{'delta': {'tool_calls': [more]}, 'finish_reason': 'tool_calls'}]})}\n\n",
            f"data: {json.dumps({'choices': [], 'usage': {'prompt_tokens': 9, 'completion_tokens': 4, 'prompt_tokens_details': {'cached_tokens': 3}}})}\n\n",
            "data: [DONE]\n\n",
        ]
        return httpx.Response(200, content="".join(lines).encode())

    async def go() -> None:
        engine = scripted(handler)
        await engine.start()
        tools = (ToolSpec("get_time", "the time", '{"type": "object"}'),)
        request = GenerationRequest(
            model="m",
            params=SamplingParams(seed=3, stop=("END",), top_k=5),
            messages=(Message("user", "time?"),),
            tools=tools,
        )
        with pytest.raises(EngineOverloadedError) as busy:
            await engine.submit(request)
        assert busy.value.retry_after == 7
        assert not isinstance(busy.value, EngineUnavailableError)
        events = await drain(await engine.submit(request))
        text = "".join(e.text for e in events)
        assert text == '<tool_call>{"name": "get_time", "arguments": {"tz": "UTC"}}</tool_call>'
        usage = events[-1].usage
        assert usage is not None and (usage.prompt_tokens, usage.cached_tokens) == (9, 3)
        sent = calls[-1]
        assert sent["stream"] and sent["stream_options"] == {"include_usage": True}
        assert (sent["seed"], sent["stop"], sent["top_k"]) == (3, ["END"], 5)
        assert sent["tools"][0]["function"]["name"] == "get_time"
        await engine.close()

    run(go())


def test_request_body_maps_messages_and_formats() -> None:
    history = (
        Message("user", "q"),
        Message("assistant", "", tool_calls=(ToolCall("c1", "f", "{}"),)),
        Message("tool", "42", tool_call_id="c1"),
    )
    fmt = OutputFormat(schema='{"type": "object"}', strict=True)
    body = request_body(
        GenerationRequest(
            model="x",
            params=SamplingParams(output_format=fmt, logprobs=True, top_logprobs=2),
            messages=history,
        ),
        "upstream-id",
    )
    assert body["model"] == "upstream-id"
    assert body["messages"][1]["tool_calls"][0]["function"]["name"] == "f"
    assert body["messages"][2]["tool_call_id"] == "c1"
    assert body["response_format"]["json_schema"]["schema"] == {"type": "object"}
    assert (body["logprobs"], body["top_logprobs"]) == (True, 2)
    with pytest.raises(UnsupportedParameterError):
        request_body(
            GenerationRequest(model="x", params=SamplingParams(grammar="root ::= x"), prompt="p"),
            "m",
        )


def test_errors_never_name_the_upstreams_credentials() -> None:
    engine = RemoteEngine(RemoteOptions(url="http://ops:s3cret@10.0.0.2:8000/v1?key=k", model="m"))
    assert engine.where == "http://10.0.0.2:8000/v1"
    with pytest.raises(EngineUnavailableError) as caught:
        asyncio.run(engine.submit(GenerationRequest("m", SamplingParams(), prompt="hi")))
    assert "s3cret" not in caught.value.message and "key=k" not in caught.value.message
