"""`Router`: several models, each served by one or more replicas (any `Engine`), behind the
`Engine` protocol.

A request goes to the replica that served its `affinity_key` last (it holds the KV cache)
unless that one is down or much busier, else to the least-loaded healthy replica. A replica
that fails before its first event (a raise, or an error as first event) is marked down and
the request tries another, a bounded number of times; a failure mid-answer is passed on
as the stream's error event, never retried. A periodic probe marks replicas down and up.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace

from causerie.core.errors import (
    CauserieError,
    EngineOverloadedError,
    EngineUnavailableError,
    InvalidRequestError,
    ModelNotFoundError,
)
from causerie.core.types import GenerationRequest, ModelInfo, StreamEvent
from causerie.engine.base import Engine, EventStream

log = logging.getLogger("causerie.engine.router")


@dataclass(eq=False)
class Replica:
    """One engine serving a model; `model` is the id to ask it for ("" for its default)."""

    name: str
    engine: Engine
    model: str = ""
    inflight: int = 0
    healthy: bool = True
    served: int = 0


@dataclass
class ModelRoute:
    id: str
    replicas: list[Replica]
    aliases: tuple[str, ...] = ()
    context_length: int | None = None  # default: the smallest of the replicas'


@dataclass(frozen=True)
class RouterOptions:
    health_interval: float = 5.0
    health_timeout: float = 3.0
    max_attempts: int = 3
    affinity_size: int = 10_000
    affinity_slack: int = 4  # in-flight requests an affine replica may have above the least


def _bytes(text: str) -> bytes:
    """For hashing only: a lone surrogate is the engine's to refuse, not the router's."""
    return text.encode("utf-8", "surrogatepass")


def default_affinity_key(request: GenerationRequest) -> str:
    """For clients that name no key: the model and the start of the conversation (up to
    its first user message, which every later turn repeats)."""
    digest = hashlib.sha256(_bytes(request.model))
    if request.messages is not None:
        for m in request.messages:
            digest.update(b"\x00" + _bytes(m.role) + b"\x00" + _bytes(m.content))
            if m.role == "user":
                break
    else:
        digest.update(b"\x01" + _bytes((request.prompt or "")[:512]))
    return digest.hexdigest()[:32]


def preferred(replicas: Sequence[Replica], key: str) -> Replica:
    """Rendezvous hashing: the same key picks the same replica in every process, and a
    replica leaving moves only its own keys."""
    return max(replicas, key=lambda r: hashlib.sha256(f"{r.name}\x00{key}".encode()).digest())


def _retryable(exc: BaseException) -> bool:
    """Failures of the replica, not of the request: those may succeed elsewhere."""
    return not isinstance(exc, CauserieError) or exc.status >= 500


def _busy(exc: BaseException) -> bool:
    """Overloaded but alive: try elsewhere without marking it down."""
    return isinstance(exc, EngineOverloadedError) and not isinstance(exc, EngineUnavailableError)


@dataclass(eq=False)
class RoutedStream:
    """A replica's stream: counts it in flight until closed; hands on the first event it
    peeked at, then the rest."""

    inner: EventStream
    events: AsyncIterator[StreamEvent]  # the iterator the first event came from
    replica: Replica
    first: StreamEvent
    on_error: asyncio.Event | None = None
    _open: bool = field(default=True)

    def __post_init__(self) -> None:
        self.replica.inflight += 1

    def __aiter__(self) -> AsyncIterator[StreamEvent]:
        return self._events()

    async def _events(self) -> AsyncIterator[StreamEvent]:
        try:
            yield self.first
            if self.first.finish_reason is not None:
                return
            async for event in self.events:
                if event.finish_reason == "error" and self.on_error is not None:
                    self.on_error.set()  # ask for a health check now
                yield event
                if event.finish_reason is not None:
                    return
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        if self._open:
            self._open = False
            self.replica.inflight -= 1
            await self.inner.aclose()
            closer = getattr(self.events, "aclose", None)
            if closer is not None:
                with contextlib.suppress(RuntimeError):  # already running or closed
                    await closer()


class Router:
    """Implements `Engine` over `routes`; the first route is the default model."""

    def __init__(self, routes: Sequence[ModelRoute], options: RouterOptions | None = None):
        if not routes or any(not r.replicas for r in routes):
            raise ValueError("a router needs models, each with at least one replica")
        self.routes = list(routes)
        self.options = options or RouterOptions()
        self._affinity: OrderedDict[str, Replica] = OrderedDict()
        self._turn = itertools.count()
        self._probe_now = asyncio.Event()
        self._health_task: asyncio.Task[None] | None = None
        self._started = False  # `causerie serve` starts it before the app's lifespan does

    # --- Engine -------------------------------------------------------------------------
    def models(self) -> Sequence[ModelInfo]:
        out = []
        for route in self.routes:
            infos = [r.engine.models()[0] for r in route.replicas]
            out.append(
                ModelInfo(
                    id=route.id,
                    context_length=route.context_length or min(i.context_length for i in infos),
                    architecture=infos[0].architecture,
                    owned_by=infos[0].owned_by,
                    created=infos[0].created,
                    aliases=route.aliases,
                )
            )
        return out

    async def start(self) -> None:
        if self._started:
            return
        for replica in self.replicas():
            await replica.engine.start()
        await self.check_health()  # an upstream down at start-up is known at once
        if self._health_task is None and self.options.health_interval > 0:
            self._health_task = asyncio.create_task(self._health_loop())
        self._started = True

    async def close(self) -> None:
        self._started = False
        if self._health_task is not None:
            self._health_task.cancel()
            await asyncio.gather(self._health_task, return_exceptions=True)
            self._health_task = None
        for replica in self.replicas():
            await replica.engine.close()

    def stats(self) -> dict[str, float]:
        total: dict[str, float] = {}
        for replica in self.replicas():
            for key, value in replica.engine.stats().items():
                total[key] = total.get(key, 0) + value
        total["replicas"] = len(self.replicas())
        total["replicas_healthy"] = sum(1 for r in self.replicas() if r.healthy)
        return total

    async def submit(self, request: GenerationRequest) -> RoutedStream:
        route = self.route(request.model)
        key = request.affinity_key or default_affinity_key(replace(request, model=route.id))
        tried: set[int] = set()
        last: BaseException | None = None
        for _ in range(self.options.max_attempts):
            replica = self.pick(route, key, tried)
            if replica is None:
                break
            tried.add(id(replica))
            replica.inflight += 1  # counted while it starts too, so that a burst spreads
            try:
                stream = await self._open(replica, replace(request, model=replica.model))
            except (ValueError, TypeError) as exc:  # an engine refusing the request's values
                raise InvalidRequestError(f"the request was refused: {exc}") from exc
            except Exception as exc:
                if not _retryable(exc):
                    raise
                last = exc
                if not _busy(exc):
                    self._mark(replica, False, exc)
                continue
            finally:
                replica.inflight -= 1
            self._remember(key, replica)
            replica.served += 1
            return stream
        if isinstance(last, CauserieError):
            raise last
        raise EngineUnavailableError(f"no replica of '{route.id}' could answer; retry shortly")

    # --- routing ------------------------------------------------------------------------
    def replicas(self) -> list[Replica]:
        return [r for route in self.routes for r in route.replicas]

    def route(self, model: str) -> ModelRoute:
        if not model:
            return self.routes[0]
        wanted = model.lower()
        for route in self.routes:
            if wanted in (n.lower() for n in (route.id, *route.aliases)):
                return route
        raise ModelNotFoundError(f"The model '{model}' does not exist", param="model")

    def pick(self, route: ModelRoute, key: str, tried: set[int] | None = None) -> Replica | None:
        """The affine replica if up and not much busier, else the least loaded healthy one
        (ties rotate); replicas marked down are a last resort. A key seen for the first
        time is affine to its rendezvous-hash choice, so that several app processes with
        the same config send a conversation to the same replica."""
        left = [r for r in route.replicas if id(r) not in (tried or set())]
        pool = [r for r in left if r.healthy] or left
        if not pool:
            return None
        turn = next(self._turn)
        order = pool[turn % len(pool) :] + pool[: turn % len(pool)]
        least = min(order, key=lambda r: r.inflight)
        affine = self._affinity.get(key)
        if affine is None or affine not in pool:
            affine = preferred(pool, key)
        if affine.inflight <= least.inflight + self.options.affinity_slack:
            return affine
        return least

    def _remember(self, key: str, replica: Replica) -> None:
        self._affinity[key] = replica
        self._affinity.move_to_end(key)
        while len(self._affinity) > self.options.affinity_size:
            self._affinity.popitem(last=False)

    async def _open(self, replica: Replica, request: GenerationRequest) -> RoutedStream:
        """Submit and wait for the first event: an error there counts as a failed start."""
        inner = await replica.engine.submit(request)
        events = aiter(inner)
        try:
            first = await anext(events)
        except StopAsyncIteration:
            await inner.aclose()
            raise EngineUnavailableError(
                f"replica {replica.name} ended without answering"
            ) from None
        except BaseException:
            await inner.aclose()
            raise
        if first.finish_reason == "error" and not first.text:
            await inner.aclose()
            raise EngineUnavailableError(first.error or f"replica {replica.name} failed")
        return RoutedStream(inner, events, replica, first, self._probe_now)

    # --- health -------------------------------------------------------------------------
    def _mark(self, replica: Replica, healthy: bool, why: object = None) -> None:
        if replica.healthy != healthy:
            state = "up" if healthy else f"down ({why})"
            log.warning("replica %s is %s", replica.name, state)
        replica.healthy = healthy

    async def probe(self, replica: Replica) -> bool:
        check = getattr(replica.engine, "healthy", None)
        if check is None:
            return True
        try:
            return bool(await asyncio.wait_for(check(), self.options.health_timeout))
        except Exception:
            return False

    async def check_health(self) -> None:
        replicas = self.replicas()
        results = await asyncio.gather(*(self.probe(r) for r in replicas))
        for replica, ok in zip(replicas, results, strict=True):
            self._mark(replica, ok, "health check failed")

    async def _health_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._probe_now.wait(), self.options.health_interval)
            self._probe_now.clear()
            try:
                await self.check_health()
            except Exception:  # never let the loop die
                log.exception("health check failed")
