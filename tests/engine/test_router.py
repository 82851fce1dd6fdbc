"""Router over scripted replicas: least-loaded choice, affinity, failover before the first
token, mid-answer failure passed on (never retried), health checks marking down and up."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

from causerie.core.errors import (
    ContextLengthExceededError,
    EngineOverloadedError,
    EngineUnavailableError,
    InvalidRequestError,
    ModelNotFoundError,
)
from causerie.core.types import GenerationRequest, Message, SamplingParams, StreamEvent
from causerie.engine.router import (
    ModelRoute,
    Replica,
    Router,
    RouterOptions,
    default_affinity_key,
    preferred,
)
from tests.support.fake_engine import ScriptedEngine, ScriptedStream

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


class Flaky(ScriptedEngine):
    """A scripted replica that can refuse (`raises`), fail on its first event
    (`fail_first`) and answer health checks (`up`)."""

    def __init__(self, *pieces: str) -> None:
        super().__init__(pieces or ("a", "b", "c"))
        self.raises: Exception | None = None
        self.fail_first = False
        self.up = True
        self.probes = 0

    async def submit(self, request: GenerationRequest) -> ScriptedStream:
        self.requests.append(request)
        if self.raises is not None:
            raise self.raises
        if self.fail_first:
            return _FailFirst()
        return ScriptedStream(self.pieces, self.delay, self.fail)

    async def healthy(self) -> bool:
        self.probes += 1
        return self.up


class _FailFirst(ScriptedStream):
    def __init__(self) -> None:
        super().__init__([], 0, None)

    async def _events(self):  # type: ignore[no-untyped-def,override]
        yield StreamEvent(finish_reason="error", error="connection reset")


def request(key: str | None = None, model: str = "m", content: str = "hi") -> GenerationRequest:
    return GenerationRequest(
        model=model,
        params=SamplingParams(max_tokens=4),
        messages=(Message("user", content),),
        affinity_key=key,
    )


def make(n: int = 2, slack: int = 1, **kw: Any) -> tuple[Router, list[Flaky], list[Replica]]:
    engines = [Flaky() for _ in range(n)]
    replicas = [Replica(f"r{i}", e, model=f"up-{i}") for i, e in enumerate(engines)]
    options = RouterOptions(health_interval=0, affinity_slack=slack, **kw)
    return Router([ModelRoute("m", replicas, aliases=("alias",))], options), engines, replicas


def key_for(replicas: list[Replica], target: Replica, prefix: str = "k") -> str:
    """A new affinity key whose rendezvous choice is `target`."""
    keys = (f"{prefix}{i}" for i in range(1000))
    return next(k for k in keys if preferred(replicas, k) is target)


async def drain(stream: Any) -> list[StreamEvent]:
    return [event async for event in stream]


def test_least_loaded_replica_takes_the_next_request() -> None:
    async def go() -> None:
        router, engines, replicas = make(slack=0)
        first = await router.submit(request("a"))
        second = await router.submit(request("b"))
        assert {first.replica.name, second.replica.name} == {"r0", "r1"}
        assert [r.inflight for r in replicas] == [1, 1]
        await first.aclose()
        third = await router.submit(request("c"))
        assert third.replica is first.replica  # the idle one
        await drain(second)
        await drain(third)
        assert [r.inflight for r in replicas] == [0, 0]
        # the replica is asked for its own model id
        assert {e.requests[0].model for e in engines} == {"up-0", "up-1"}

    run(go())


def test_affinity_returns_to_the_replica_of_the_conversation() -> None:
    async def go() -> None:
        router, _, replicas = make(slack=1)
        home = (await router.submit(request("conv-1"))).replica  # stays in flight
        for _ in range(3):  # home busier by one: within the slack, still chosen
            stream = await router.submit(request("conv-1"))
            assert stream.replica is home
            await drain(stream)
        other = next(r for r in replicas if r is not home)
        busy = [await router.submit(request("conv-1")) for _ in range(1)]
        assert all(s.replica is home for s in busy)  # home now has 2 in flight, other 0
        moved = await router.submit(request("conv-1"))
        assert moved.replica is other  # much more loaded: goes elsewhere
        again = await router.submit(request("conv-1"))
        assert again.replica is other  # and the conversation follows its new home

    run(go())


def test_default_affinity_key_follows_the_start_of_the_conversation() -> None:
    a = default_affinity_key(request(content="hello"))
    b = default_affinity_key(request(content="hello"))
    c = default_affinity_key(request(content="other"))
    assert a == b != c
    later = GenerationRequest(
        model="m",
        params=SamplingParams(),
        messages=(Message("user", "hello"), Message("assistant", "hi!"), Message("user", "more")),
    )
    assert default_affinity_key(later) == a  # every turn of a conversation has one key

    async def go() -> None:
        router, _, _ = make(slack=4)
        homes = set()
        for _ in range(4):
            stream = await router.submit(request(None, content="same start"))
            homes.add(stream.replica.name)
            await drain(stream)
        assert len(homes) == 1

    run(go())


def test_failure_before_the_first_token_is_retried_elsewhere() -> None:
    async def go() -> None:
        router, engines, replicas = make(slack=10)
        engines[0].raises = EngineUnavailableError("connection refused")
        engines[1].raises = None
        key = key_for(replicas, replicas[0])  # r0 is asked first
        for _ in range(3):
            stream = await router.submit(request(key))
            assert stream.replica is replicas[1]
            events = await drain(stream)
            assert "".join(e.text for e in events) == "abc"
        assert not replicas[0].healthy
        assert len(engines[0].requests) == 1  # marked down: not asked again

        engines[0].raises, engines[0].fail_first = None, True  # an error as first event
        replicas[0].healthy = True
        stream = await router.submit(request(key_for(replicas, replicas[0], "fresh")))
        assert stream.replica is replicas[1]
        assert not replicas[0].healthy

    run(go())


def test_busy_replica_is_skipped_but_not_marked_down() -> None:
    async def go() -> None:
        router, engines, replicas = make()
        engines[0].raises = EngineOverloadedError("busy")
        for _ in range(2):
            stream = await router.submit(request())
            assert stream.replica is replicas[1]
            await drain(stream)
        assert replicas[0].healthy

    run(go())


def test_client_errors_are_not_retried() -> None:
    async def go() -> None:
        router, engines, _ = make()
        for e in engines:
            e.raises = ContextLengthExceededError("too long")
        with pytest.raises(ContextLengthExceededError):
            await router.submit(request())
        assert sum(len(e.requests) for e in engines) == 1

    run(go())


def test_an_engine_refusing_the_values_is_a_client_error_not_a_dead_replica() -> None:
    async def go() -> None:
        router, engines, _ = make()
        for e in engines:
            e.raises = ValueError("top_p must be in (0, 1]")
        with pytest.raises(InvalidRequestError, match="top_p"):
            await router.submit(request())
        assert sum(len(e.requests) for e in engines) == 1
        assert all(r.healthy and r.inflight == 0 for r in router.replicas())

    run(go())


def test_no_replica_left_raises_unavailable() -> None:
    async def go() -> None:
        router, engines, replicas = make()
        for e in engines:
            e.raises = EngineUnavailableError("down")
        with pytest.raises(EngineUnavailableError):
            await router.submit(request())
        assert not any(r.healthy for r in replicas)
        with pytest.raises(ModelNotFoundError):
            await router.submit(request(model="nope"))

    run(go())


def test_mid_answer_failure_ends_the_stream_with_an_error_and_is_not_retried() -> None:
    async def go() -> None:
        router, engines, replicas = make()
        for e in engines:
            e.fail = "replica died"
        stream = await router.submit(request())
        events = await drain(stream)
        assert events[-1].finish_reason == "error"
        assert events[-1].error == "replica died"
        assert events[0].text  # some text came before
        assert sum(len(e.requests) for e in engines) == 1
        assert [r.inflight for r in replicas] == [0, 0]

    run(go())


def test_health_checks_mark_replicas_down_and_up() -> None:
    async def go() -> None:
        router, engines, replicas = make(slack=10)
        engines[0].up = False
        await router.check_health()
        assert [r.healthy for r in replicas] == [False, True]
        for _ in range(3):
            stream = await router.submit(request())
            assert stream.replica is replicas[1]
            await stream.aclose()
        engines[0].up = True
        await router.check_health()
        assert all(r.healthy for r in replicas)
        assert router.stats()["replicas_healthy"] == 2

    run(go())


def test_health_loop_runs_in_the_background() -> None:
    async def go() -> None:
        engines = [Flaky(), Flaky()]
        replicas = [Replica(f"r{i}", e) for i, e in enumerate(engines)]
        router = Router([ModelRoute("m", replicas)], RouterOptions(health_interval=0.02))
        await router.start()
        try:
            engines[1].up = False
            for _ in range(100):
                await asyncio.sleep(0.02)
                if not replicas[1].healthy:
                    break
            assert not replicas[1].healthy
            engines[1].up = True
            for _ in range(100):
                await asyncio.sleep(0.02)
                if replicas[1].healthy:
                    break
            assert replicas[1].healthy
        finally:
            await router.close()

    run(go())


def test_models_lists_every_route_and_aliases_resolve() -> None:
    a, b = Flaky(), Flaky()
    router = Router(
        [
            ModelRoute("first", [Replica("a", a)], aliases=("alias",)),
            ModelRoute("second", [Replica("b", b)], context_length=512),
        ]
    )
    models = router.models()
    assert [m.id for m in models] == ["first", "second"]
    assert models[1].context_length == 512
    assert router.route("").id == "first"
    assert router.route("ALIAS").id == "first"
    assert router.stats()["replicas"] == 2


def test_processes_with_the_same_config_agree_on_a_new_conversation() -> None:
    async def go() -> None:
        homes = []
        for _ in range(2):  # two app processes: two routers, same replica names
            router, _, _ = make(slack=4)
            picks = [(await router.submit(request(f"conv-{i}"))).replica.name for i in range(8)]
            homes.append(picks)
        assert homes[0] == homes[1]
        assert set(homes[0]) == {"r0", "r1"}  # and keys spread over the replicas

    run(go())
