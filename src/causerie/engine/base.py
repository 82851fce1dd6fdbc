"""The `Engine` protocol: the only view the layers above have of an inference engine.

Narrow on purpose: `submit` validates and admits a request (raising `CauserieError`s such as
`ContextLengthExceededError` or `EngineOverloadedError` before anything streams) and returns
an `EventStream`; closing that stream cancels the request and frees its slot. `Embedder` is
the same for a text-embedding model: texts (or token ids) in, L2-normalised vectors out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from causerie.core.types import GenerationRequest, ModelInfo, StreamEvent

EmbeddingInput = str | Sequence[int]


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


@dataclass(frozen=True, slots=True)
class Embeddings:
    """One row per input, in input order: float32, each row of L2 norm 1."""

    vectors: npt.NDArray[np.float32]
    tokens: int  # input tokens read, for usage


class Embedder(Protocol):
    @property
    def info(self) -> ModelInfo:
        """The embedding model (id, context length in tokens per input)."""

    @property
    def dimensions(self) -> int:
        """Length of every vector."""

    async def start(self) -> None:
        """Load the model; called once by the app lifespan."""

    async def close(self) -> None:
        """Release the model."""

    def embed_sync(self, inputs: Sequence[EmbeddingInput], *, truncate: bool = False) -> Embeddings:
        """Vectors for `inputs` (blocking; thread-safe). An input longer than the model's
        context is an error, unless `truncate` asks to keep only its head (indexing)."""

    async def embed(
        self, inputs: Sequence[EmbeddingInput], *, truncate: bool = False
    ) -> Embeddings:
        """`embed_sync` off the event loop."""
