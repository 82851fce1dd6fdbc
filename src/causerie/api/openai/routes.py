"""`/v1/*` routes: thin — validate, convert, submit to the engine, shape the answer.

Streaming answers are SSE `data:` frames ending with `data: [DONE]`; an error after the
stream started is sent as an error frame. A client that disconnects cancels its request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from causerie.api.deps import EmbedderDep, EngineDep
from causerie.api.errors import envelope
from causerie.api.openai import adapters as ad
from causerie.api.openai.frames import ContentFrames
from causerie.api.openai.protocol import (
    AssistantMessage,
    ChatChoice,
    ChatChunkChoice,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChatDelta,
    Completion,
    CompletionChoice,
    CompletionRequest,
    ModelCard,
    ModelList,
)
from causerie.api.openai.toolstream import tool_calls_out, tool_deltas
from causerie.api.security import api_caller
from causerie.api.sse import sse, sse_response, unless_disconnected
from causerie.chat.toolcalls import ToolCallStream, parse_tool_calls
from causerie.core.errors import EngineError, ModelNotFoundError
from causerie.core.types import ModelInfo, StreamEvent, TokenLogprob
from causerie.engine.base import Embedder, Engine, EventStream

router = APIRouter(prefix="/v1", dependencies=[Depends(api_caller)], tags=["openai"])


async def _collect(stream: EventStream) -> tuple[str, list[TokenLogprob], StreamEvent]:
    text: list[str] = []
    logprobs: list[TokenLogprob] = []
    last = StreamEvent(finish_reason="error", error="empty stream")
    async for event in stream:
        text.append(event.text)
        logprobs.extend(event.logprobs)
        last = event
    return "".join(text), logprobs, last


def _served_name(engine: Engine, asked: str) -> str:
    return asked or engine.models()[0].id


def _finish(event: StreamEvent) -> str | None:
    return "stop" if event.finish_reason == "cancelled" else event.finish_reason


def _served(engine: Engine, embedder: Embedder | None) -> list[ModelInfo]:
    """The chat models, then the embedding model when there is one."""
    return [*engine.models(), *([embedder.info] if embedder is not None else [])]


@router.get("/models")
async def list_models(engine: EngineDep, embedder: EmbedderDep) -> ModelList:
    return ModelList(
        data=[
            ModelCard(
                id=m.id, created=m.created, owned_by=m.owned_by, context_length=m.context_length
            )
            for m in _served(engine, embedder)
        ]
    )


@router.get("/models/{model_id:path}")
async def get_model(model_id: str, engine: EngineDep, embedder: EmbedderDep) -> ModelCard:
    for m in _served(engine, embedder):
        if model_id == m.id or model_id in m.aliases:
            return ModelCard(
                id=m.id, created=m.created, owned_by=m.owned_by, context_length=m.context_length
            )
    raise ModelNotFoundError(f"The model '{model_id}' does not exist", param="model")


@router.post("/chat/completions", response_model=None)
async def chat_completions(
    body: ChatCompletionRequest, request: Request, engine: EngineDep
) -> ChatCompletion | StreamingResponse:
    rid = ad.new_id("chatcmpl")
    gen = ad.chat_request(body, rid)
    stream = await engine.submit(gen)
    model, created = body.model, ad.now()
    if body.stream:
        usage = bool(body.stream_options and body.stream_options.include_usage)
        calls = ToolCallStream() if gen.tools else None
        return sse_response(_chat_frames(stream, rid, model, created, usage, calls))
    text, logprobs, last = await unless_disconnected(request, _collect(stream))
    if last.finish_reason == "error":
        raise EngineError(last.error or "the engine failed")
    message = AssistantMessage(content=text)
    finish = _finish(last)
    if gen.tools:
        content, found = parse_tool_calls(text)
        if found:
            message = AssistantMessage(content=content or None, tool_calls=tool_calls_out(found))
            finish = "tool_calls" if finish == "stop" else finish
    return ChatCompletion(
        id=rid,
        created=created,
        model=model,
        choices=[
            ChatChoice(
                message=message,
                logprobs=ad.chat_logprobs(logprobs) if body.logprobs else None,
                finish_reason=finish,
            )
        ],
        usage=ad.usage_out(last.usage),
    )


async def _chat_frames(
    stream: EventStream,
    rid: str,
    model: str,
    created: int,
    include_usage: bool,
    calls: ToolCallStream | None = None,
) -> AsyncIterator[str]:
    def chunk(
        delta: ChatDelta, finish: str | None = None, lps: list[TokenLogprob] | None = None
    ) -> str:
        choice = ChatChunkChoice(
            delta=delta, finish_reason=finish, logprobs=ad.chat_logprobs(lps) if lps else None
        )
        body = ChatCompletionChunk(id=rid, created=created, model=model, choices=[choice])
        return sse(body.model_dump(exclude_none=False))

    content = ContentFrames(rid, created, model)
    try:
        yield chunk(ChatDelta(role="assistant", content=""))
        async for event in stream:
            if event.finish_reason == "error":
                yield sse(envelope(event.error or "the engine failed", "server_error"))
                break
            if calls is not None:
                for delta in tool_deltas(calls, event.text, event.finish_reason is not None):
                    yield chunk(delta)
            elif event.text and not event.logprobs:
                yield content(event.text)
            elif event.logprobs:
                yield chunk(ChatDelta(content=event.text), lps=list(event.logprobs))
            if event.finish_reason is not None:
                finish = _finish(event)
                if calls is not None and calls.calls and finish == "stop":
                    finish = "tool_calls"
                yield chunk(ChatDelta(), finish=finish)
                if include_usage:
                    final = ChatCompletionChunk(
                        id=rid, created=created, model=model, choices=[],
                        usage=ad.usage_out(event.usage),
                    )  # fmt: skip
                    yield sse(final.model_dump())
        yield sse("[DONE]")
    finally:
        await stream.aclose()


@router.post("/completions", response_model=None)
async def completions(
    body: CompletionRequest, request: Request, engine: EngineDep
) -> Completion | StreamingResponse:
    rid = ad.new_id("cmpl")
    gen = ad.completion_request(body, rid)
    stream = await engine.submit(gen)
    model, created = body.model, ad.now()
    echo = (gen.prompt or "") if body.echo else ""
    if body.stream:
        usage = bool(body.stream_options and body.stream_options.include_usage)
        return sse_response(_completion_frames(stream, rid, model, created, usage, echo))
    text, logprobs, last = await unless_disconnected(request, _collect(stream))
    if last.finish_reason == "error":
        raise EngineError(last.error or "the engine failed")
    lps = ad.completion_logprobs(logprobs, len(echo)) if body.logprobs is not None else None
    return Completion(
        id=rid,
        created=created,
        model=model,
        choices=[CompletionChoice(text=echo + text, logprobs=lps, finish_reason=_finish(last))],
        usage=ad.usage_out(last.usage),
    )


async def _completion_frames(
    stream: EventStream, rid: str, model: str, created: int, include_usage: bool, echo: str
) -> AsyncIterator[str]:
    def chunk(text: str, finish: str | None = None) -> str:
        body = Completion(
            id=rid, created=created, model=model,
            choices=[CompletionChoice(text=text, finish_reason=finish)],
        )  # fmt: skip
        return sse(body.model_dump(exclude={"usage"}))

    try:
        if echo:
            yield chunk(echo)
        async for event in stream:
            if event.finish_reason == "error":
                yield sse(envelope(event.error or "the engine failed", "server_error"))
                break
            if event.text:
                yield chunk(event.text)
            if event.finish_reason is not None:
                yield chunk("", finish=_finish(event))
                if include_usage:
                    final = Completion(
                        id=rid, created=created, model=model, choices=[],
                        usage=ad.usage_out(event.usage),
                    )  # fmt: skip
                    yield sse(final.model_dump())
        yield sse("[DONE]")
    finally:
        await stream.aclose()
