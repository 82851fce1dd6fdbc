"""A scripted engine for fast tests of the layers above the engine (never the only test
of a feature): it streams given pieces with a delay and honours cancellation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

from causerie.core.types import GenerationRequest, ModelInfo, StreamEvent, Usage


class ScriptedStream:
    def __init__(self, pieces: Sequence[str], delay: float, fail: str | None) -> None:
        self.pieces, self.delay, self.fail = list(pieces), delay, fail
        self.closed = False

    def __aiter__(self) -> AsyncIterator[StreamEvent]:
        return self._events()

    async def _events(self) -> AsyncIterator[StreamEvent]:
        for i, piece in enumerate(self.pieces):
            if self.closed:
                return
            await asyncio.sleep(self.delay)
            yield StreamEvent(text=piece, token_count=1)
            if self.fail and i == len(self.pieces) // 2:
                yield StreamEvent(finish_reason="error", error=self.fail, usage=Usage(5, i + 1))
                return
        yield StreamEvent(finish_reason="stop", usage=Usage(5, len(self.pieces)))

    async def aclose(self) -> None:
        self.closed = True


class ScriptedEngine:
    def __init__(self, pieces: Sequence[str] = ("Hello", " there", "!"), delay: float = 0.0):
        self.pieces, self.delay = pieces, delay
        self.requests: list[GenerationRequest] = []
        self.fail: str | None = None

    def models(self) -> Sequence[ModelInfo]:
        return [ModelInfo(id="scripted", context_length=1024, architecture="none")]

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def submit(self, request: GenerationRequest) -> ScriptedStream:
        self.requests.append(request)
        return ScriptedStream(self.pieces, self.delay, self.fail)

    def stats(self) -> dict[str, float]:
        return {}
