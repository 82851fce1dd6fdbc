"""The state of one request inside the engine, shared by the asyncio side and the decode
thread. The asyncio side only sets `cancelled`; everything else is the decode thread's."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from causerie.core.types import SamplingParams, StreamEvent
from causerie.engine.llamacpp.grammars import CompiledGrammar
from causerie.engine.llamacpp.sampler import Sampler
from causerie.engine.llamacpp.slots import Slot
from causerie.engine.stops import StopMatcher


@dataclass(eq=False)
class Sequence:
    request_id: str
    prompt: list[int]
    params: SamplingParams
    max_tokens: int
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[StreamEvent]
    cancelled: bool = False
    grammar: CompiledGrammar | None = None  # handed to the sampler chain on admission
    # decode-thread state
    slot: Slot | None = None
    sampler: Sampler | None = None
    matcher: StopMatcher = field(default_factory=StopMatcher)
    cached: int = 0
    generated: int = 0
    next_token: int | None = None
    finished: bool = False
    t_submit: float = field(default_factory=time.monotonic)
    t_first: float | None = None
    t_last: float | None = None

    @property
    def prefilling(self) -> bool:
        """Admitted, and part of the prompt is not in the KV cache yet."""
        return (
            self.slot is not None
            and not self.finished
            and self.t_first is None
            and len(self.slot.cache) < len(self.prompt)
        )
