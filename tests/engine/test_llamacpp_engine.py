"""The llama.cpp engine on the real bundled model: batching, prefix reuse, parking,
cancellation, limits and sampling, driven through the `Engine` protocol."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from causerie.core.errors import (
    ContextLengthExceededError,
    EngineOverloadedError,
    ModelNotFoundError,
)
from causerie.core.types import GenerationRequest, Message, SamplingParams, StreamEvent
from causerie.engine.llamacpp.engine import EngineOptions, LlamaCppEngine
from causerie.engine.models import inspect_model

SYSTEM = Message("system", "You are a helpful assistant.")


def ask(text: str, history: tuple[Message, ...] = (), **params: object) -> GenerationRequest:
    sampling = SamplingParams(**{"temperature": 0.0, "max_tokens": 32, **params})  # type: ignore[arg-type]
    return GenerationRequest(
        model="", params=sampling, messages=(SYSTEM, *history, Message("user", text))
    )


async def run(engine: LlamaCppEngine, request: GenerationRequest) -> tuple[str, StreamEvent]:
    stream = await engine.submit(request)
    parts: list[str] = []
    last = StreamEvent()
    async for event in stream:
        parts.append(event.text)
        last = event
    return "".join(parts), last


def make_engine(
    model_path: Path, observe: Callable[[str, float], None] | None = None, **options: int
) -> LlamaCppEngine:
    opts = {"ctx_size": 1024, "parallel": 8, "threads": 2, **options}
    engine = LlamaCppEngine(inspect_model(model_path), EngineOptions(**opts), observe)
    asyncio.run(engine.start())
    return engine


@pytest.fixture(scope="module")
def engine(model_path: Path) -> Iterator[LlamaCppEngine]:
    eng = make_engine(model_path)
    yield eng
    asyncio.run(eng.close())


PROMPTS = [
    "What is the capital of France?",
    "Name three colours.",
    "Write a haiku about the sea.",
    "What is 2 + 2?",
    "Give me a synonym for happy.",
    "Why is the sky blue?",
    "List two fruits.",
    "Say hello in Spanish.",
]


def test_greedy_output_is_the_same_alone_and_in_a_batch(engine: LlamaCppEngine) -> None:
    alone = asyncio.run(run(engine, ask(PROMPTS[0])))[0]

    async def crowd() -> list[tuple[str, StreamEvent]]:
        return await asyncio.gather(*(run(engine, ask(p, max_tokens=48)) for p in PROMPTS))

    together = asyncio.run(crowd())
    assert alone and together[0][0][: len(alone)] == alone
    assert all(text for text, _ in together)
    assert engine.stats()["running"] == 0


def test_second_turn_reuses_the_cache(engine: LlamaCppEngine) -> None:
    q1 = "Tell me about the moon."
    answer, first = asyncio.run(run(engine, ask(q1)))
    history = (Message("user", q1), Message("assistant", answer))
    _, second = asyncio.run(run(engine, ask("And the sun?", history)))
    assert first.usage is not None and second.usage is not None
    assert second.usage.cached_tokens >= first.usage.prompt_tokens
    assert second.usage.cached_tokens < second.usage.prompt_tokens


def test_parked_conversation_is_restored(model_path: Path) -> None:
    engine = make_engine(model_path, parallel=1)
    try:
        q = "Describe a forest in a few words."
        a_text, a1 = asyncio.run(run(engine, ask(q)))
        asyncio.run(run(engine, ask("Something completely different: count to five.")))
        history = (Message("user", q), Message("assistant", a_text))
        _, a2 = asyncio.run(run(engine, ask("Now a desert.", history)))
        assert a1.usage is not None and a2.usage is not None
        assert a2.usage.cached_tokens >= a1.usage.prompt_tokens  # came back from RAM
        assert engine.stats()["parked"] >= 1
    finally:
        asyncio.run(engine.close())


def test_a_short_question_asked_again_after_an_eviction_is_not_prefilled_again(
    model_path: Path,
) -> None:
    """A regenerate, or the same question from another client, comes back from RAM even
    when it shares only a few tokens more than the system prompt left in the slot."""
    engine = make_engine(model_path, parallel=1)
    try:
        question = ask("Name a river.", max_tokens=40, ignore_eos=True)
        _, first = asyncio.run(run(engine, question))
        asyncio.run(run(engine, ask("Name a mountain in Spain.", max_tokens=40, ignore_eos=True)))
        _, again = asyncio.run(run(engine, question))
        assert first.usage is not None and again.usage is not None
        assert first.usage.prompt_tokens - first.usage.cached_tokens < 32  # a short one
        assert again.usage.cached_tokens == again.usage.prompt_tokens - 1
        _, back = asyncio.run(run(engine, ask("Name a mountain in Spain.", max_tokens=8)))
        assert back.usage is not None  # the other one is still parked after that restore
        assert back.usage.cached_tokens == back.usage.prompt_tokens - 1
    finally:
        asyncio.run(engine.close())


def test_cancel_frees_the_slot_for_a_waiting_request(model_path: Path) -> None:
    engine = make_engine(model_path, parallel=1)

    async def scenario() -> tuple[float, StreamEvent]:
        long = await engine.submit(ask("Write a very long story.", max_tokens=900, ignore_eos=True))
        events = long.__aiter__()
        await events.__anext__()  # the long one is generating
        waiting = asyncio.create_task(run(engine, ask(PROMPTS[3], max_tokens=4)))
        await asyncio.sleep(0.3)
        assert engine.stats()["queued"] == 1
        started = time.monotonic()
        await long.aclose()
        _, last = await waiting
        return time.monotonic() - started, last

    try:
        elapsed, last = asyncio.run(scenario())
        assert last.finish_reason in ("stop", "length")
        assert elapsed < 5.0  # far less than the 900 tokens the cancelled request wanted
        assert engine.stats()["slots_busy"] == 0
    finally:
        asyncio.run(engine.close())


def test_cancelled_queued_request_never_runs(model_path: Path) -> None:
    admitted: list[float] = []

    def observe(name: str, value: float) -> None:
        if name == "prompt_tokens":
            admitted.append(value)

    engine = make_engine(model_path, observe, parallel=1)

    async def scenario() -> StreamEvent:
        first = await engine.submit(ask("Write a long story.", max_tokens=60, ignore_eos=True))
        queued = await engine.submit(ask(PROMPTS[1]))
        await queued.aclose()
        async for _ in first:
            pass
        await asyncio.sleep(0.05)
        events = [e async for e in queued]
        return events[-1] if events else StreamEvent()

    try:
        asyncio.run(scenario())
        assert engine.stats()["running"] == 0 and engine.stats()["queued"] == 0
        assert len(admitted) == 1  # only the first request ever got a slot
    finally:
        asyncio.run(engine.close())


def test_limits(model_path: Path) -> None:
    engine = make_engine(model_path, parallel=1, ctx_size=256, queue_size=1)

    async def scenario() -> None:
        with pytest.raises(ContextLengthExceededError):
            await engine.submit(ask("word " * 400))
        with pytest.raises(ContextLengthExceededError):
            await engine.submit(ask("hi", max_tokens=250))
        with pytest.raises(ModelNotFoundError):
            await engine.submit(
                GenerationRequest(model="nope", params=SamplingParams(), prompt="x")
            )
        running = await engine.submit(ask("Story.", max_tokens=150, ignore_eos=True))
        await running.__aiter__().__anext__()
        queued = await engine.submit(ask("hi"))
        with pytest.raises(EngineOverloadedError):
            await engine.submit(ask("hi"))
        await running.aclose()
        await queued.aclose()

    try:
        asyncio.run(scenario())
    finally:
        asyncio.run(engine.close())


def test_stop_string_across_token_boundary(engine: LlamaCppEngine) -> None:
    full, _ = asyncio.run(run(engine, ask(PROMPTS[2], max_tokens=40)))
    stream_pieces: list[str] = []

    async def pieces() -> None:
        stream = await engine.submit(ask(PROMPTS[2], max_tokens=40))
        async for event in stream:
            if event.text:
                stream_pieces.append(event.text)

    asyncio.run(pieces())
    # pick a stop string that straddles two emitted pieces
    boundary = len(stream_pieces[0]) + len(stream_pieces[1])
    stop = full[boundary - 2 : boundary + 2]
    assert len(stop) == 4
    text, last = asyncio.run(run(engine, ask(PROMPTS[2], max_tokens=40, stop=(stop,))))
    assert last.finish_reason == "stop"
    assert text == full[: full.index(stop)]


def test_length_and_seeded_sampling(engine: LlamaCppEngine) -> None:
    _, last = asyncio.run(run(engine, ask("Tell me a story.", max_tokens=5, ignore_eos=True)))
    assert last.finish_reason == "length" and last.usage is not None
    assert last.usage.completion_tokens == 5
    a = asyncio.run(run(engine, ask("Tell me a story.", temperature=1.0, seed=3)))[0]
    b = asyncio.run(run(engine, ask("Tell me a story.", temperature=1.0, seed=3)))[0]
    assert a == b


def test_logit_bias_bans_a_token(engine: LlamaCppEngine) -> None:
    free, _ = asyncio.run(run(engine, ask(PROMPTS[0], max_tokens=8)))
    first = engine._require_runtime().tokenize(free, add_special=False, parse_special=False)[0]
    biased, _ = asyncio.run(
        run(engine, ask(PROMPTS[0], max_tokens=8, logit_bias=((first, -100.0),)))
    )
    assert biased != free


def record_batches(engine: LlamaCppEngine) -> list[list[int]]:
    """The sequence id of every row of every batch the engine decodes from now on."""
    runtime = engine._require_runtime()
    steps: list[list[int]] = []
    decode = runtime.decode

    def spy(batch: object) -> int:
        raw: Any = batch
        steps.append([raw.seq_id[i][0] for i in range(raw.n_tokens)])
        return decode(batch)

    runtime.decode = spy  # type: ignore[method-assign]
    return steps


def test_a_step_is_one_micro_batch_whatever_the_arrival_order(model_path: Path) -> None:
    """With a KV stream per slot llama.cpp splits a batch at every break in the order of
    sequence ids; conversations that come back in reverse order must still be decoded in
    slot order, one pass over the weights per step."""
    engine = make_engine(model_path, parallel=4)
    steps = record_batches(engine)

    async def scenario() -> None:
        questions = PROMPTS[:4]
        firsts = await asyncio.gather(*(run(engine, ask(q, max_tokens=6)) for q in questions))
        steps.clear()
        follow_ups = [
            ask("And then?", (Message("user", q), Message("assistant", text)), max_tokens=6)
            for q, (text, _) in zip(questions, firsts, strict=True)
        ]
        streams = []
        for request in reversed(follow_ups):  # admitted last slot first
            streams.append(await engine.submit(request))
        for stream in streams:
            async for _ in stream:
                pass

    try:
        asyncio.run(scenario())
        assert any(len(set(ids)) == 4 for ids in steps)  # the four shared steps
        assert all(ids == sorted(ids) for ids in steps)
    finally:
        asyncio.run(engine.close())


PERSONA = Message(
    "system",
    "You are Causerie, a patient assistant for a public library. You answer questions "
    "about opening hours, borrowing rules and events, in short and friendly sentences, "
    "and you say so plainly when you do not know.",
)


def test_a_new_chat_copies_a_shared_system_prompt_from_a_busy_slot(model_path: Path) -> None:
    question = ask("Can I borrow a film?", max_tokens=24)
    request = GenerationRequest(
        model="", params=question.params, messages=(PERSONA, question.messages[-1])
    )
    fresh = make_engine(model_path, parallel=2)
    try:
        alone, alone_last = asyncio.run(run(fresh, request))
    finally:
        asyncio.run(fresh.close())
    engine = make_engine(model_path, parallel=2)

    async def scenario() -> tuple[str, StreamEvent]:
        other = ask("Tell me a long story.", max_tokens=300, ignore_eos=True)
        busy = await engine.submit(
            GenerationRequest(model="", params=other.params, messages=(PERSONA, other.messages[-1]))
        )
        events = busy.__aiter__()
        await events.__anext__()  # the persona is in slot 0's cache, and slot 0 is busy
        result = await run(engine, request)
        await busy.aclose()
        return result

    try:
        text, last = asyncio.run(scenario())
        assert alone_last.usage is not None and last.usage is not None
        assert alone_last.usage.cached_tokens == 0
        assert last.usage.cached_tokens >= 40  # the persona's tokens were copied, not decoded
        assert text == alone  # and the answer is the one a cold cache gives
    finally:
        asyncio.run(engine.close())


def test_a_lasting_split_of_the_busy_slots_is_mended(model_path: Path) -> None:
    """Two conversations that come back to slots 0 and 2 would each cost llama.cpp a pass
    over the weights per step; after a few steps one is moved next to the other, and its
    answer is the same as if it had stayed."""
    questions = PROMPTS[:3]
    engine = make_engine(model_path, parallel=3)
    steps = record_batches(engine)

    def follow_up(q: str, text: str) -> GenerationRequest:
        history = (Message("user", q), Message("assistant", text))
        return ask("Say more.", history, max_tokens=40, ignore_eos=True)

    async def scenario() -> tuple[list[str], list[GenerationRequest]]:
        firsts = await asyncio.gather(*(run(engine, ask(q, max_tokens=6)) for q in questions))
        steps.clear()
        again = [follow_up(questions[i], firsts[i][0]) for i in (0, 2)]
        answers = await asyncio.gather(*(run(engine, r) for r in again))
        return [text for text, _ in answers], again

    try:
        answers, requests = asyncio.run(scenario())
        both = [sorted(set(ids)) for ids in steps if len(set(ids)) == 2]
        assert both and both[0] == [0, 2]  # each went back to its own slot
        assert both[-1] in ([0, 1], [1, 2])  # and then one moved next to the other
    finally:
        asyncio.run(engine.close())
    alone = make_engine(model_path, parallel=1)
    try:
        assert [asyncio.run(run(alone, r))[0] for r in requests] == answers
    finally:
        asyncio.run(alone.close())
