"""The `Engine` protocol: the only view the layers above have of an inference engine.

Narrow on purpose: `submit` validates and admits a request (raising `CauserieError`s such as
`ContextLengthExceededError` or `EngineOverloadedError` before anything streams) and returns
an `EventStream`; closing that stream cancels the request and frees its slot.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol, runtime_checkable

from causerie.core.types import GenerationRequest, ModelInfo, StreamEvent


@runtime_checkable
class EventStream(Protocol):
    """The events of one request; the last one has `finish_reason` set."""

    def __aiter__(self) -> AsyncIterator[StreamEvent]: ...

    async def aclose(self) -> None:
        """Cancel the request if it is still running; idempotent."""


class Engine(Protocol):
    def models(self) -> Sequence[ModelInfo]:
        """The models this engine serves; the first is the default."""

    async def start(self) -> None:
        """Load weights and start workers; called once by the app lifespan."""

    async def close(self) -> None:
        """Cancel what runs and release every resource."""

    async def submit(self, request: GenerationRequest) -> EventStream:
        """Admit `request`; raise if it cannot be served."""

    def stats(self) -> dict[str, float]:
        """Point-in-time figures (running, queued, slots) for health and metrics."""
