"""The decode thread: continuous batching over KV-cache slots.

Each step builds ONE batch holding the next token of every generating sequence plus a
bounded chunk of pending prompt tokens (chunked prefill), calls `llama_decode` once,
samples each sequence that produced logits, and hands events to asyncio in one call.
Requests join between steps; finished or cancelled ones leave and free their slot at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from causerie.core.types import StreamEvent, TokenLogprob, Usage
from causerie.engine.llamacpp.batch import Batch
from causerie.engine.llamacpp.model import LlamaRuntime
from causerie.engine.llamacpp.sampler import Sampler, logprobs_of
from causerie.engine.llamacpp.sequence import Sequence
from causerie.engine.llamacpp.slots import (
    PARK_MIN_TOKENS,
    ParkingLot,
    Slot,
    best_move,
    choose_slot,
    common_prefix,
    donor,
    runs,
    touch,
)
from causerie.engine.stops import StopMatcher

log = logging.getLogger("causerie.engine")

PREFILL_CHUNK_WHILE_DECODING = 128  # keeps other streams flowing during a long prompt
# Busy slots split in several runs cost a pass over the weights per run and per step. A
# split that outlasts this many steps (conversations coming back at the same moment close
# theirs at once) is mended by moving one sequence's cache next to the others.
COMPACT_AFTER_STEPS = 8
Observer = Callable[[str, float], None]


class Scheduler:
    def __init__(
        self,
        runtime: LlamaRuntime,
        *,
        n_slots: int,
        n_ctx_seq: int,
        n_batch: int,
        park_bytes: int,
        observe: Observer | None = None,
    ) -> None:
        self.rt = runtime
        self.n_ctx_seq = n_ctx_seq
        self.slots = [Slot(i) for i in range(n_slots)]
        self.lot = ParkingLot(park_bytes)
        self.batch = Batch(n_batch)
        self.waiting: deque[Sequence] = deque()
        self.running: list[Sequence] = []
        self._incoming: deque[Sequence] = deque()
        self._wake = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._outbox: list[tuple[Sequence, StreamEvent]] = []
        self._observe = observe or (lambda name, value: None)
        self._eog = runtime.eog_tokens()
        self._eog_set = frozenset(self._eog)  # membership test on every sampled token
        self._split_steps = 0

    # --- called from any thread -----------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="causerie-decode", daemon=True)
        self._thread.start()

    def submit(self, seq: Sequence) -> None:
        with self._wake:
            self._incoming.append(seq)
            self._wake.notify()

    def poke(self) -> None:
        """Wake the decode thread (after a cancellation)."""
        with self._wake:
            self._wake.notify()

    def queued(self) -> int:
        return len(self._incoming) + len(self.waiting)

    def stop(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify()
        if self._thread is not None:
            self._thread.join(timeout=30)
        for seq in list(self.running) + list(self.waiting) + list(self._incoming):
            self._finish(seq, "cancelled", error="the server is shutting down")
        self._flush()
        self.batch.free()

    # --- decode thread --------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._stopping and not self._incoming and not self._has_work():
                    self._wake.wait(timeout=1.0)
                if self._stopping:
                    return
                self.waiting.extend(self._incoming)
                self._incoming.clear()
            try:
                self._reap()
                self._admit()
                self._compact()
                if self.running:
                    self._step()
            except Exception:  # never let the decode thread die silently
                log.exception("decode step failed")
                for seq in list(self.running):
                    self._fail(seq, "the engine failed while decoding")
            self._flush()

    def _has_work(self) -> bool:
        if any(s.cancelled for s in self.waiting) or any(s.cancelled for s in self.running):
            return True
        if self.running:
            return True
        return bool(self.waiting) and any(s.busy is None for s in self.slots)

    def _reap(self) -> None:
        for seq in [s for s in self.running if s.cancelled]:
            self._finish(seq, "cancelled")
        if any(s.cancelled for s in self.waiting):
            for seq in [s for s in self.waiting if s.cancelled]:
                self._finish(seq, "cancelled")
            self.waiting = deque(s for s in self.waiting if not s.cancelled)

    def _admit(self) -> None:
        while self.waiting:
            choice = choose_slot(self.slots, self.lot, self.waiting[0].prompt)
            if choice is None:
                return
            seq = self.waiting.popleft()
            slot = choice.slot
            if choice.park_first:
                self._park(slot)
            found = donor(self.slots, slot, seq.prompt[:-1], choice.reuse)
            if found is not None:  # another slot shares more than this one or the lot
                copied = self.rt.seq_copy(found[0].id, slot.id)
                slot.cache = list(found[0].cache) if copied else []
            elif choice.restore is not None:
                parked = self.lot.get(choice.restore)
                if parked is not None:  # else parking the slot just now pushed it out
                    self.rt.seq_clear(slot.id)
                    if self.rt.state_set(slot.id, parked.state):
                        slot.cache = list(parked.tokens)
                    else:  # never to be chosen again
                        slot.cache = []
                        self.lot.drop(choice.restore)
            # what the cache really shares with the prompt; one token is always decoded
            reuse = min(common_prefix(slot.cache, seq.prompt), len(seq.prompt) - 1)
            if found is not None:
                self._observe("copied_tokens", reuse)
            if not self.rt.seq_rm(slot.id, reuse, -1):
                self.rt.seq_clear(slot.id)
                reuse = 0
            del slot.cache[reuse:]
            slot.busy, seq.slot, seq.cached = seq, slot, reuse
            touch(slot)
            banned = self._eog if seq.params.ignore_eos else []
            grammar = seq.grammar.take() if seq.grammar is not None else None
            self.running.append(seq)  # from here on, _finish/_fail always free the slot
            try:
                seq.sampler = Sampler(seq.params, self.rt.n_vocab, banned, grammar)
            except Exception:
                log.exception("could not build the sampler of %s", seq.request_id)
                self._fail(seq, "the engine could not set up sampling for this request")
                continue
            seq.matcher = StopMatcher(seq.params.stop)
            self._observe("queue_wait", time.monotonic() - seq.t_submit)
            self._observe("prompt_tokens", len(seq.prompt))
            self._observe("cached_tokens", reuse)

    def _park(self, slot: Slot) -> None:
        """Keep the slot's cache in RAM before something else overwrites it."""
        state = self.rt.state_get(slot.id)
        if state:  # llama.cpp wrote nothing: there is nothing to restore later
            self.lot.put(list(slot.cache), state)

    def _compact(self) -> None:
        """Move one sequence so that the busy slots make fewer runs, once a split has lasted
        `COMPACT_AFTER_STEPS` steps. Its old slot keeps a copy of the cache, like any free
        slot, for whoever continues it."""
        if runs([s.id for s in self.slots if s.busy is not None]) <= 1:
            self._split_steps = 0
            return
        self._split_steps += 1
        if self._split_steps < COMPACT_AFTER_STEPS:
            return
        self._split_steps = 0  # a split no single move mends is looked at again 8 steps on
        move = best_move(self.slots)
        if move is None:
            return
        source, target = move
        seq = source.busy
        if len(target.cache) >= PARK_MIN_TOKENS:
            self._park(target)
        if not self.rt.seq_copy(source.id, target.id):
            target.cache = []  # the copy failed half-way: the sequence stays where it is
            return
        target.cache, target.busy, seq.slot, source.busy = list(source.cache), seq, target, None
        touch(source)
        touch(target)
        self._observe("moved_tokens", len(target.cache))

    def _step(self) -> None:
        plan: list[tuple[Sequence, Slot, list[int]]] = []
        for seq in self.running:
            if seq.next_token is not None and seq.slot is not None:
                plan.append((seq, seq.slot, [seq.next_token]))
                seq.next_token = None
        room = self.batch.capacity - len(plan)
        budget = min(room, PREFILL_CHUNK_WHILE_DECODING) if plan else room
        for seq in self.running:  # prompt chunks first come, first served
            if budget <= 0:
                break
            if not seq.prefilling or seq.slot is None:
                continue
            start = len(seq.slot.cache)
            take = seq.prompt[start : start + budget]
            plan.append((seq, seq.slot, take))
            budget -= len(take)
            self._observe("prefill_tokens", len(take))
        # With one KV stream per slot, llama.cpp cuts a batch into one micro-batch (one
        # pass over the weights) per run of consecutive sequence ids in row order; rows
        # in slot order make every run of busy slots a single micro-batch.
        plan.sort(key=lambda item: item[1].id)
        batch = self.batch
        batch.clear()
        outputs: list[tuple[Sequence, int]] = []
        for seq, slot, tokens in plan:
            start, last = len(slot.cache), len(tokens) - 1
            logits = start + len(tokens) >= len(seq.prompt)  # a decode row or a prompt's end
            for offset, token in enumerate(tokens):
                row = batch.add(token, start + offset, slot.id, logits and offset == last)
            if logits:
                outputs.append((seq, row))
            slot.cache.extend(tokens)
        if batch.n == 0:
            return
        rc = self.rt.decode(batch.raw)
        if rc != 0:
            log.error("llama_decode returned %d for a batch of %d tokens", rc, batch.n)
            for seq, _ in outputs:
                self._fail(seq, f"llama_decode failed ({rc})")
            for seq in [s for s in self.running if s.prefilling]:
                self._fail(seq, f"llama_decode failed ({rc})")
            return
        now = time.monotonic()
        for seq, row in outputs:
            if seq.cancelled or seq.finished or seq.sampler is None:
                continue
            token = seq.sampler.sample(self.rt.ctx, row)
            if seq.t_first is None:
                seq.t_first = now
                self._observe("ttft", now - seq.t_submit)
            else:
                self._observe("itl", now - (seq.t_last or now))
            seq.t_last = now
            self._accept(seq, token, row)

    def _accept(self, seq: Sequence, token: int, row: int) -> None:
        assert seq.slot is not None
        if token in self._eog_set and not seq.params.ignore_eos:
            self._finish(seq, "stop")
            return
        seq.generated += 1
        self._observe("generated_tokens", 1)
        logprobs: tuple[TokenLogprob, ...] = ()
        if seq.params.logprobs:
            logprobs = (self._logprob(seq, token, row),)
        text = seq.matcher.feed(self.rt.piece(token))
        if seq.matcher.stopped:
            self._emit(seq, StreamEvent(text=text, token_count=1, logprobs=logprobs))
            self._finish(seq, "stop")
            return
        if seq.generated >= seq.max_tokens or len(seq.slot.cache) + 1 >= self.n_ctx_seq:
            self._emit(seq, StreamEvent(text=text, token_count=1, logprobs=logprobs))
            self._finish(seq, "length")
            return
        if text or logprobs:
            self._emit(seq, StreamEvent(text=text, token_count=1, logprobs=logprobs))
        seq.next_token = token

    def _logprob(self, seq: Sequence, token: int, row: int) -> TokenLogprob:
        chosen, top_ids, top_lps = logprobs_of(
            self.rt.logits(row), self.rt.n_vocab, token, seq.params.top_logprobs
        )

        def entry(tok: int) -> tuple[str, tuple[int, ...]]:
            raw = self.rt.piece(tok)
            return raw.decode("utf-8", "replace"), tuple(raw)

        text, raw = entry(token)
        top = tuple((entry(t)[0], lp, entry(t)[1]) for t, lp in zip(top_ids, top_lps, strict=True))
        return TokenLogprob(token=text, logprob=chosen, bytes=raw, top=top)

    def _fail(self, seq: Sequence, message: str) -> None:
        if seq.slot is not None:
            self.rt.seq_clear(seq.slot.id)
            seq.slot.cache = []
        self._finish(seq, "error", error=message)

    def _finish(self, seq: Sequence, reason: str, error: str | None = None) -> None:
        if seq.finished:
            return
        seq.finished = True
        tail = seq.matcher.flush() if reason in ("stop", "length") else ""
        usage = Usage(len(seq.prompt), seq.generated, seq.cached)
        final = StreamEvent(text=tail, finish_reason=reason, usage=usage, error=error)  # type: ignore[arg-type]
        self._emit(seq, final)
        if seq.sampler is not None:
            seq.sampler.free()
            seq.sampler = None
        if seq.grammar is not None:  # never admitted
            seq.grammar.free()
        if seq.slot is not None:
            seq.slot.busy = None
            touch(seq.slot)
        if seq in self.running:
            self.running.remove(seq)
        self._observe("finished", 1)

    def _emit(self, seq: Sequence, event: StreamEvent) -> None:
        self._outbox.append((seq, event))

    def _flush(self) -> None:
        if not self._outbox:
            return
        outbox, self._outbox = self._outbox, []
        by_loop: dict[object, list[tuple[Sequence, StreamEvent]]] = {}
        for seq, event in outbox:
            by_loop.setdefault(seq.loop, []).append((seq, event))
        for items in by_loop.values():
            loop = items[0][0].loop
            if not loop.is_closed():
                loop.call_soon_threadsafe(_deliver, items)


def _deliver(items: list[tuple[Sequence, StreamEvent]]) -> None:
    for seq, event in items:
        seq.queue.put_nowait(event)
