"""`LlamaCppEngine`: the asyncio face of the decode thread, implementing `Engine`.

`submit` renders the chat template, tokenizes, checks the context and the queue bound,
compiles any output grammar (a bad one is a 400 here) and hands a `Sequence` to the
scheduler; events come back through an asyncio queue. Closing the returned stream cancels
the request; the decode thread frees its slot at its next step.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import sys
from collections.abc import AsyncIterator
from collections.abc import Sequence as Seq
from dataclasses import dataclass

from causerie.core.errors import (
    ContextLengthExceededError,
    EngineError,
    EngineOverloadedError,
    InvalidRequestError,
    ModelNotFoundError,
)
from causerie.core.types import GenerationRequest, ModelInfo, StreamEvent
from causerie.engine.llamacpp.grammars import CompiledGrammar, grammar_text
from causerie.engine.llamacpp.model import LlamaRuntime, RuntimeConfig
from causerie.engine.llamacpp.prompt import chat_tokens
from causerie.engine.llamacpp.scheduler import Observer, Scheduler
from causerie.engine.llamacpp.sequence import Sequence
from causerie.engine.models import ModelSpec
from causerie.engine.templates import ChatTemplate

log = logging.getLogger("causerie.engine")
_ids = itertools.count(1)
GIL_SWITCH_INTERVAL = 0.0005
TOKENIZE_INLINE_CHARS = 32_768  # a rendered prompt longer than this is tokenized in a thread
TEMPLATE_CHARS_PER_MESSAGE = 32  # what a chat template adds around each message, about


@dataclass(frozen=True)
class EngineOptions:
    ctx_size: int
    parallel: int
    threads: int
    batch_size: int = 512
    queue_size: int = 64
    park_bytes: int = 512 * 1024 * 1024


def default_parallel(spec: ModelSpec, ctx_size: int) -> int:
    """Slots that fit in a quarter of available memory, between 1 and 8."""
    try:
        available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        available = 4 << 30
    per_slot = max(1, spec.kv_bytes_per_token * ctx_size)
    return max(1, min(8, int(available * 0.25 // per_slot)))


class _Stream:
    """Async iterator over one sequence's events; `aclose` cancels it."""

    def __init__(self, seq: Sequence, scheduler: Scheduler) -> None:
        self._seq, self._scheduler, self._done = seq, scheduler, False

    def __aiter__(self) -> AsyncIterator[StreamEvent]:
        return self._events()

    async def _events(self) -> AsyncIterator[StreamEvent]:
        try:
            while not self._done:
                event = await self._seq.queue.get()
                if event.finish_reason is not None:
                    self._done = True
                yield event
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        if not self._done:
            self._done = True
            self._seq.cancelled = True
            self._scheduler.poke()


class LlamaCppEngine:
    def __init__(self, spec: ModelSpec, options: EngineOptions, observe: Observer | None = None):
        self.spec = spec
        self.options = options
        self._observe = observe
        self._template = ChatTemplate(
            spec.chat_template, bos_token=spec.bos_token, eos_token=spec.eos_token
        )
        self._runtime: LlamaRuntime | None = None
        self._scheduler: Scheduler | None = None

    def models(self) -> Seq[ModelInfo]:
        return [self.spec.info(self.options.ctx_size)]

    async def start(self) -> None:
        if self._scheduler is not None:
            return
        config = RuntimeConfig(
            path=self.spec.path,
            n_ctx_seq=self.options.ctx_size,
            n_seq_max=self.options.parallel,
            n_batch=self.options.batch_size,
            n_threads=self.options.threads,
        )
        self._runtime = await asyncio.to_thread(LlamaRuntime, config)
        # The decode thread drops the GIL in every llama.cpp call and must get it back
        # quickly; with the default 5 ms switch interval a busy event loop can hold it
        # for a whole decode step.
        sys.setswitchinterval(GIL_SWITCH_INTERVAL)
        self._scheduler = Scheduler(
            self._runtime,
            n_slots=self.options.parallel,
            n_ctx_seq=self.options.ctx_size,
            n_batch=self.options.batch_size,
            park_bytes=self.options.park_bytes,
            observe=self._observe,
        )
        self._scheduler.start()

    async def close(self) -> None:
        if self._scheduler is not None:
            await asyncio.to_thread(self._scheduler.stop)
            self._scheduler = None
        if self._runtime is not None:
            self._runtime.close()
            self._runtime = None

    def stats(self) -> dict[str, float]:
        sched = self._scheduler
        if sched is None:
            return {"running": 0, "queued": 0, "slots": self.options.parallel, "slots_busy": 0}
        return {
            "running": len(sched.running),
            "queued": sched.queued(),
            "slots": len(sched.slots),
            "slots_busy": sum(1 for s in sched.slots if s.busy is not None),
            "parked": len(sched.lot),
        }

    def tokenize_request(self, request: GenerationRequest) -> list[int]:
        runtime = self._require_runtime()
        if request.messages is not None:
            return chat_tokens(runtime, self._template, request.messages, request.tools)
        return runtime.tokenize(
            request.prompt or "", add_special=runtime.add_bos, parse_special=True, param="prompt"
        )

    def _check_bias(self, request: GenerationRequest) -> None:
        n_vocab = self._require_runtime().n_vocab
        for token, _ in request.params.logit_bias:
            if not 0 <= token < n_vocab:
                raise InvalidRequestError(
                    f"logit_bias names token {token}, outside this model's vocabulary "
                    f"(0..{n_vocab - 1})",
                    param="logit_bias",
                )

    def _check_size(self, request: GenerationRequest) -> int:
        """Refuse, before rendering or tokenizing anything, a request that cannot fit the
        context whatever its tokens; returns about how long its rendered prompt is."""
        runtime, ctx = self._require_runtime(), self.options.ctx_size
        messages = request.messages
        chars = sum(len(m.content) for m in messages) if messages else len(request.prompt or "")
        least = max(chars // runtime.max_piece_bytes, len(messages) if messages else 0)
        if least >= ctx:
            raise ContextLengthExceededError(
                f"This model's maximum context length is {ctx} tokens; your prompt has at "
                f"least {least} tokens ({chars} characters"
                + (f" in {len(messages)} messages)." if messages else ")."),
                param="messages" if messages is not None else "prompt",
            )
        return chars + TEMPLATE_CHARS_PER_MESSAGE * (len(messages) if messages else 0)

    async def submit(self, request: GenerationRequest) -> _Stream:
        if request.model and request.model.lower() not in (n.lower() for n in self.spec.names()):
            raise ModelNotFoundError(f"The model '{request.model}' does not exist", param="model")
        scheduler = self._scheduler
        if scheduler is None:
            raise EngineError("the engine is not running")
        if scheduler.queued() >= self.options.queue_size:
            raise EngineOverloadedError("the server is busy; retry shortly", retry_after=2)
        self._check_bias(request)
        if self._check_size(request) < TOKENIZE_INLINE_CHARS:
            prompt = self.tokenize_request(request)
        else:  # rendering and tokenizing a long prompt takes a while: not on the event loop
            prompt = await asyncio.to_thread(self.tokenize_request, request)
        if not prompt:
            prompt = [self._require_runtime().bos]
        ctx = self.options.ctx_size
        wanted = request.params.max_tokens
        if len(prompt) >= ctx:
            raise ContextLengthExceededError(
                f"This model's maximum context length is {ctx} tokens; your prompt has "
                f"{len(prompt)} tokens.",
                param="messages" if request.messages is not None else "prompt",
            )
        if wanted is not None and len(prompt) + wanted > ctx:
            raise ContextLengthExceededError(
                f"This model's maximum context length is {ctx} tokens; you asked for "
                f"{len(prompt) + wanted} tokens ({len(prompt)} in the prompt, {wanted} to "
                "generate). Reduce the prompt or max_tokens.",
                param="max_tokens",
            )
        seq = Sequence(
            request_id=request.request_id or f"req-{next(_ids)}",
            prompt=prompt,
            params=request.params,
            max_tokens=wanted if wanted is not None else ctx - len(prompt),
            loop=asyncio.get_running_loop(),
            queue=asyncio.Queue(),
            grammar=self._grammar(request),
        )
        scheduler.submit(seq)
        return _Stream(seq, scheduler)

    def _grammar(self, request: GenerationRequest) -> CompiledGrammar | None:
        text = grammar_text(request.params)
        if not text:
            return None
        if request.params.ignore_eos:
            raise InvalidRequestError(
                "ignore_eos cannot be combined with a constrained output", param="ignore_eos"
            )
        return CompiledGrammar(self._require_runtime().vocab, text)

    def _require_runtime(self) -> LlamaRuntime:
        if self._runtime is None:
            raise EngineError("the engine is not running")
        return self._runtime
