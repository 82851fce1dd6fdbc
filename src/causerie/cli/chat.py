"""`causerie chat`: a terminal chat that streams tokens and keeps the history.

It talks to an in-process engine, or to a running server with `--url` (through the
official `openai` client). `/reset` clears the history, `/exit` (or EOF) quits.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from typing import Protocol

import typer

from causerie.bootstrap import build_engine, resolve_model
from causerie.core.settings import Settings
from causerie.core.types import GenerationRequest, Message, SamplingParams
from causerie.engine.base import Engine

HELP = "Type a message. /reset clears the conversation, /exit quits."


class Backend(Protocol):
    def reply(self, history: list[Message]) -> AsyncIterator[str]: ...

    async def close(self) -> None: ...


class EngineBackend:
    def __init__(self, engine: Engine, params: SamplingParams) -> None:
        self.engine, self.params = engine, params

    async def reply(self, history: list[Message]) -> AsyncIterator[str]:
        stream = await self.engine.submit(
            GenerationRequest(model="", params=self.params, messages=tuple(history))
        )
        try:
            async for event in stream:
                if event.error:
                    raise RuntimeError(event.error)
                if event.text:
                    yield event.text
        finally:
            await stream.aclose()

    async def close(self) -> None:
        await self.engine.close()


class RemoteBackend:
    def __init__(self, url: str, api_key: str | None, model: str | None, params: SamplingParams):
        from openai import AsyncOpenAI

        base = url.rstrip("/")
        base = base if base.endswith("/v1") else base + "/v1"
        self.client = AsyncOpenAI(base_url=base, api_key=api_key or "none", max_retries=0)
        self.model, self.params = model, params

    async def reply(self, history: list[Message]) -> AsyncIterator[str]:
        if self.model is None:
            models = await self.client.models.list()
            self.model = models.data[0].id
        stream = await self.client.chat.completions.create(
            model=self.model,
            messages=[{"role": m.role, "content": m.content} for m in history],  # type: ignore[misc]
            stream=True,
            temperature=self.params.temperature,
            max_tokens=self.params.max_tokens,
        )
        async for chunk in stream:  # type: ignore[union-attr]
            if chunk.choices and chunk.choices[0].delta.content:
                yield chunk.choices[0].delta.content

    async def close(self) -> None:
        await self.client.close()


async def _read_line(prompt: str) -> str | None:
    def read() -> str | None:
        if sys.stdin.isatty():
            try:
                return input(prompt)
            except EOFError:
                return None
        sys.stdout.write(prompt)
        sys.stdout.flush()
        line = sys.stdin.readline()
        return line.rstrip("\n") if line else None

    return await asyncio.to_thread(read)


async def chat_loop(backend: Backend, system: str | None) -> None:
    base = [Message("system", system)] if system else []
    history = list(base)
    typer.echo(HELP)
    try:
        while True:
            line = await _read_line("you> ")
            if line is None or line.strip() == "/exit":
                break
            text = line.strip()
            if not text:
                continue
            if text == "/reset":
                history = list(base)
                typer.echo("(conversation cleared)")
                continue
            history.append(Message("user", text))
            sys.stdout.write("assistant> ")
            parts: list[str] = []
            try:
                async for piece in backend.reply(history):
                    parts.append(piece)
                    sys.stdout.write(piece)
                    sys.stdout.flush()
            except Exception as exc:  # keep the session alive; show the problem in one line
                history.pop()
                sys.stdout.write(f"\n(error: {exc})\n")
                continue
            sys.stdout.write("\n")
            history.append(Message("assistant", "".join(parts)))
    finally:
        await backend.close()


def run_chat(
    settings: Settings,
    *,
    url: str | None,
    system: str | None,
    temperature: float,
    max_tokens: int | None,
) -> None:
    params = SamplingParams(temperature=temperature, max_tokens=max_tokens)

    async def main() -> None:
        backend: Backend
        if url:
            key = settings.api_key.get_secret_value() if settings.api_key else None
            backend = RemoteBackend(url, key, settings.model, params)
        else:
            engine = build_engine(settings, resolve_model(settings))
            await engine.start()
            backend = EngineBackend(engine, params)
        await chat_loop(backend, system)

    asyncio.run(main())
