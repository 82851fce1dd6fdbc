"""`RemoteEngine`: any OpenAI-compatible upstream (vLLM, SGLang, llama-server, Ollama, another
Causerie) behind the `Engine` protocol, streaming over httpx.

`submit` raises before anything streams: upstream 4xx become the matching client errors,
429/503 `EngineOverloadedError`, an unreachable or failing upstream `EngineUnavailableError`
(a router retries those elsewhere). A failure once streaming ends the stream with a
`finish_reason="error"` event. Closing the stream closes the connection, which cancels
the upstream request.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import httpx

from causerie.core.errors import (
    CauserieError,
    ContextLengthExceededError,
    EngineOverloadedError,
    EngineUnavailableError,
    InvalidRequestError,
    ModelNotFoundError,
)
from causerie.core.types import GenerationRequest, ModelInfo, StreamEvent, TokenLogprob, Usage
from causerie.engine.remote_wire import request_body, tool_call_text

log = logging.getLogger("causerie.engine.remote")


@dataclass(frozen=True)
class RemoteOptions:
    """`url` is the upstream's OpenAI base (ending in /v1); `model` the id it serves."""

    url: str
    model: str
    api_key: str | None = None
    context_length: int = 4096
    connect_timeout: float = 5.0
    read_timeout: float = 300.0
    max_connections: int = 256
    served_as: str | None = None  # the id we show (default: `model`)


def _retry_after(response: httpx.Response, default: int = 1) -> int:
    try:
        return max(1, int(float(response.headers.get("retry-after", default))))
    except ValueError:
        return default


def upstream_error(response: httpx.Response, body: bytes, where: str) -> CauserieError:
    """The `CauserieError` for a non-200 upstream answer."""
    message, param, code = f"{where} answered HTTP {response.status_code}", None, None
    try:
        data = json.loads(body)
        err = data.get("error", data) if isinstance(data, dict) else {}
        if isinstance(err, dict):
            message = str(err.get("message") or err.get("detail") or message)
            param = err.get("param") if isinstance(err.get("param"), str) else None
            code = err.get("code") if isinstance(err.get("code"), str) else None
        elif isinstance(err, str):
            message = err
    except ValueError:
        pass
    status = response.status_code
    if status in (400, 413, 422):
        lowered = message.lower()
        if code == "context_length_exceeded" or "context length" in lowered:
            return ContextLengthExceededError(message, param=param)
        return InvalidRequestError(message, param=param, code=code)
    if status == 404 and code == "model_not_found":
        return ModelNotFoundError(message, param=param or "model")
    if status == 429 or status == 503:
        return EngineOverloadedError(
            f"{where} is busy: {message}", retry_after=_retry_after(response)
        )
    return EngineUnavailableError(f"{where} failed: {message}", retry_after=1)


@dataclass
class _Calls:
    """Tool calls assembled from streamed deltas, by index."""

    names: dict[int, str] = field(default_factory=dict)
    args: dict[int, list[str]] = field(default_factory=dict)

    def add(self, deltas: list[dict[str, Any]]) -> None:
        for d in deltas:
            i = int(d.get("index", 0))
            fn = d.get("function") or {}
            if fn.get("name"):
                self.names[i] = str(fn["name"])
            if fn.get("arguments"):
                self.args.setdefault(i, []).append(str(fn["arguments"]))

    def text(self) -> str:
        return "".join(
            tool_call_text(name, "".join(self.args.get(i, [])))
            for i, name in sorted(self.names.items())
        )


def _usage(raw: Any) -> Usage | None:
    if not isinstance(raw, dict):
        return None
    details = raw.get("prompt_tokens_details") or {}
    return Usage(
        prompt_tokens=int(raw.get("prompt_tokens") or 0),
        completion_tokens=int(raw.get("completion_tokens") or 0),
        cached_tokens=int(details.get("cached_tokens") or 0) if isinstance(details, dict) else 0,
    )


def _chat_logprobs(raw: Any) -> tuple[TokenLogprob, ...]:
    items = raw.get("content") if isinstance(raw, dict) else None
    return tuple(
        TokenLogprob(
            token=str(lp.get("token", "")),
            logprob=float(lp.get("logprob", 0.0)),
            bytes=tuple(lp.get("bytes") or ()),
            top=tuple(
                (str(t.get("token", "")), float(t.get("logprob", 0.0)), tuple(t.get("bytes") or ()))
                for t in lp.get("top_logprobs") or ()
            ),
        )
        for lp in items or ()
    )


class RemoteStream:
    """One upstream answer as `StreamEvent`s; `aclose` drops the connection."""

    def __init__(self, response: httpx.Response, chat: bool, where: str, done: Any) -> None:
        self._response, self._chat, self._where = response, chat, where
        self._closed, self._done = False, done

    def __aiter__(self) -> AsyncIterator[StreamEvent]:
        return self._events()

    async def _events(self) -> AsyncIterator[StreamEvent]:
        finish: str | None = None
        usage: Usage | None = None
        calls, pieces = _Calls(), 0
        try:
            async for line in self._response.aiter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                chunk = json.loads(data)
                if "error" in chunk:
                    err = chunk["error"]
                    text = err.get("message") if isinstance(err, dict) else str(err)
                    yield StreamEvent(
                        finish_reason="error",
                        error=f"{self._where}: {text}",
                        usage=Usage(completion_tokens=pieces),
                    )
                    return
                usage = _usage(chunk.get("usage")) or usage
                for choice in chunk.get("choices") or ():
                    event = self._piece(choice, calls)
                    if event is not None:
                        pieces += event.token_count
                        yield event
                    finish = choice.get("finish_reason") or finish
            if finish is None:
                raise httpx.RemoteProtocolError("the answer ended without a finish reason")
        except (httpx.HTTPError, ValueError) as exc:
            if self._closed:
                return
            log.warning("%s failed mid-answer: %s", self._where, exc)
            yield StreamEvent(
                finish_reason="error",
                error=f"the model server ({self._where}) failed while answering: "
                f"{type(exc).__name__}",
                usage=Usage(completion_tokens=pieces),
            )
            return
        finally:
            await self.aclose()
        tail = calls.text()
        yield StreamEvent(
            text=tail,
            finish_reason="length" if finish == "length" else "stop",
            usage=usage or Usage(completion_tokens=pieces),
        )

    def _piece(self, choice: dict[str, Any], calls: _Calls) -> StreamEvent | None:
        if self._chat:
            delta = choice.get("delta") or {}
            if delta.get("tool_calls"):
                calls.add(delta["tool_calls"])
            text = delta.get("content") or ""
            logprobs = _chat_logprobs(choice.get("logprobs"))
        else:
            text = choice.get("text") or ""
            raw = choice.get("logprobs") or {}
            logprobs = tuple(
                TokenLogprob(token=str(t), logprob=float(v or 0.0), bytes=())
                for t, v in zip(
                    raw.get("tokens") or (), raw.get("token_logprobs") or (), strict=False
                )
            )
        if not text and not logprobs:
            return None
        return StreamEvent(text=text, token_count=max(1, len(logprobs)), logprobs=logprobs)

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            await self._response.aclose()
            self._done()


class RemoteEngine:
    """An OpenAI-compatible upstream; `start` opens the connection pool."""

    def __init__(
        self, options: RemoteOptions, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.options = options
        self._transport = transport
        self.base = options.url.rstrip("/")
        url = httpx.URL(self.base)  # named in errors: never its credentials or query
        self.where = str(url.copy_with(username=None, password=None, query=None))
        self._client: httpx.AsyncClient | None = None
        self._info = ModelInfo(
            id=options.served_as or options.model,
            context_length=options.context_length,
            architecture="remote",
            owned_by="remote",
        )
        self._running = 0

    def models(self) -> Sequence[ModelInfo]:
        return [self._info]

    def _headers(self) -> dict[str, str]:
        key = self.options.api_key
        return {"Authorization": f"Bearer {key}"} if key else {}

    async def start(self) -> None:
        if self._client is None:
            o = self.options
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(o.read_timeout, connect=o.connect_timeout),
                limits=httpx.Limits(
                    max_connections=o.max_connections, max_keepalive_connections=32
                ),
                headers=self._headers(),
                transport=self._transport,
            )
        try:
            await self.refresh_models()
        except CauserieError as exc:
            log.warning("%s: cannot list models yet (%s)", self.where, exc.message)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _require_client(self) -> httpx.AsyncClient:
        if self._client is None:
            raise EngineUnavailableError(f"{self.where}: the engine is not started")
        return self._client

    async def refresh_models(self) -> Sequence[ModelInfo]:
        """Ask the upstream's /v1/models for its context length (and the model id, when
        the config names none)."""
        try:
            response = await self._require_client().get(self.base + "/models", timeout=5.0)
        except httpx.HTTPError as exc:
            raise EngineUnavailableError(f"{self.where} is unreachable: {exc}") from exc
        if response.status_code != 200:
            raise upstream_error(response, response.content, self.where)
        cards = [c for c in response.json().get("data", []) if isinstance(c, dict)]
        card = next((c for c in cards if c.get("id") == self.options.model), None)
        if card is None and not self.options.model and cards:
            card = cards[0]
            self.options = replace(self.options, model=str(card["id"]))
        if card is not None:
            length = card.get("context_length") or card.get("max_model_len")
            self._info = replace(
                self._info,
                id=self.options.served_as or self.options.model,
                context_length=int(length) if length else self._info.context_length,
                created=int(card.get("created") or 0),
            )
        return self.models()

    async def healthy(self) -> bool:
        """True when the upstream answers its model list."""
        try:
            await self.refresh_models()
        except CauserieError:
            return False
        return True

    def stats(self) -> dict[str, float]:
        return {"running": self._running, "queued": 0}

    async def submit(self, request: GenerationRequest) -> RemoteStream:
        if request.model and request.model.lower() not in (
            n.lower() for n in (self._info.id, *self._info.aliases, self.options.model)
        ):
            raise ModelNotFoundError(f"The model '{request.model}' does not exist", param="model")
        chat = request.messages is not None
        path = "/chat/completions" if chat else "/completions"
        body = request_body(request, self.options.model)
        client = self._require_client()
        # a session id lets an upstream that routes by it (Causerie's Ray Serve deployment
        # with --session-affinity) keep a conversation on the replica that holds its cache
        headers = {"x-session-id": request.affinity_key} if request.affinity_key else None
        try:
            response = await client.send(
                client.build_request("POST", self.base + path, json=body, headers=headers),
                stream=True,
            )
        except httpx.HTTPError as exc:
            raise EngineUnavailableError(
                f"the model server {self.where} is unreachable: {type(exc).__name__}"
            ) from exc
        if response.status_code != 200:
            content = await response.aread()
            await response.aclose()
            raise upstream_error(response, content, f"the model server {self.where}")
        self._running += 1
        return RemoteStream(response, chat, self.where, self._finished)

    def _finished(self) -> None:
        self._running -= 1
