"""Rate limits, token quotas and the usage ledger, counted in the database so that several
app processes behave as one.

`Throttle` counts events in sliding windows (login attempts, requests per minute). `QuotaService`
admits a user's request or raises `RateLimitError` with `retry_after`, and records usage per
user, model and UTC day. `MeteredEngine` applies both to every engine request made on
behalf of the caller bound with `bind_caller()` (the API binds the authenticated user).
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from causerie.core.errors import RateLimitError
from causerie.core.types import GenerationRequest, ModelInfo, StreamEvent, Usage
from causerie.engine.base import Engine, EventStream
from causerie.store.accounts import UsageRow
from causerie.store.db import Database
from causerie.store.tables import User

log = logging.getLogger("causerie.quotas")
Clock = Callable[[], float]
DAY_S = 86400
# A throttle's window is counted in this many time slices, which leave it one by one: the
# count never drops all at once at a boundary (a fixed window let twice the limit through
# across one).
SLICES = 10


@dataclass(frozen=True, slots=True)
class Limits:
    """None means unlimited."""

    requests_per_minute: int | None = None
    tokens_per_day: int | None = None


@dataclass(frozen=True, slots=True)
class Caller:
    """The user an engine request is made for, with the limits that apply to them."""

    user_id: str
    limits: Limits


class Throttle:
    """Sliding windows over the shared `rate_windows` table: events are counted in slices
    of a tenth of the window, and the window is the last ten slices, the current included
    (slices stamped later, after the clock was set back, are not counted)."""

    def __init__(self, db: Database, clock: Clock = time.time) -> None:
        self.db, self.clock = db, clock

    @staticmethod
    def _size(window_s: int) -> int:
        return max(1, window_s // SLICES)

    def _now(self, window_s: int) -> tuple[float, int, int]:
        """Now, the start of its slice, and the start of the oldest slice in the window."""
        now, size = self.clock(), self._size(window_s)
        current = int(now // size) * size
        return now, current, current - (math.ceil(window_s / size) - 1) * size

    def _over(self, key: str, limit: int, window_s: int) -> int | None:
        """None while the window holds fewer than `limit` events of `key`, else the seconds
        until enough slices have left it."""
        now, current, oldest = self._now(window_s)
        with self.db.unit() as uow:
            counts = uow.rates.counts(key, oldest, current)
        total = sum(count for _, count in counts)
        if total < limit:
            return None
        span = current + self._size(window_s) - oldest  # how long a slice stays in it
        for start, count in counts:  # the oldest leaves first
            total -= count
            if total < limit:
                return max(1, math.ceil(start + span - now))
        return span  # a limit of 0

    def check(self, key: str, limit: int, window_s: int, message: str) -> None:
        """Refuse (429) when `key` has already been counted `limit` times in the window."""
        retry_after = self._over(key, limit, window_s)
        if retry_after is not None:
            raise RateLimitError(message, retry_after=retry_after)

    def hit(self, key: str, window_s: int) -> int:
        """Count one event; returns how many the window holds with it."""
        return self._count(key, window_s, limit=None)

    def take(self, key: str, limit: int, window_s: int) -> int | None:
        """Count one event if the window holds fewer than `limit`: None when it is taken,
        else the seconds until it would be (a refused event is not counted, so a client
        that retries too soon is not kept out longer)."""
        if self._count(key, window_s, limit) <= limit:
            return None
        return self._over(key, limit, window_s) or 1

    def _count(self, key: str, window_s: int, limit: int | None) -> int:
        """Count one event, taken back in the same transaction (the slice's row stays
        locked meanwhile) when it makes the window hold more than `limit`."""
        _, current, oldest = self._now(window_s)
        with self.db.unit() as uow:
            uow.rates.hit(key, current)
            if random.random() < 0.01:  # now and then, forget slices older than a day
                uow.rates.purge(oldest - DAY_S)
            total = sum(count for _, count in uow.rates.counts(key, oldest, current))
            if limit is not None and total > limit:
                uow.rates.hit(key, current, -1)
            uow.commit()
        return total


def _seconds_to_midnight(now: float) -> int:
    return max(1, math.ceil(DAY_S - now % DAY_S))


class QuotaService:
    def __init__(self, db: Database, defaults: Limits = Limits(), clock: Clock = time.time):
        self.db, self.defaults, self.clock = db, defaults, clock
        self.throttle = Throttle(db, clock)

    def today(self) -> date:
        return datetime.fromtimestamp(self.clock(), UTC).date()

    def caller(self, user: User) -> Caller:
        """A user's own limits where set, else the server's defaults."""
        rpm, tpd = user.requests_per_minute, user.tokens_per_day
        return Caller(
            user.id,
            Limits(
                rpm if rpm is not None else self.defaults.requests_per_minute,
                tpd if tpd is not None else self.defaults.tokens_per_day,
            ),
        )

    def admit(self, caller: Caller) -> None:
        """Count one request; raise `RateLimitError` if it is over a limit."""
        limits = caller.limits
        if limits.tokens_per_day is not None:
            with self.db.unit() as uow:
                used = uow.usage.tokens_on(caller.user_id, self.today())
            if used >= limits.tokens_per_day:
                raise RateLimitError(
                    f"You have used your {limits.tokens_per_day} tokens for today (UTC).",
                    retry_after=_seconds_to_midnight(self.clock()),
                    code="tokens_per_day_exceeded",
                )
        if limits.requests_per_minute is not None:
            wait = self.throttle.take(f"rpm:{caller.user_id}", limits.requests_per_minute, 60)
            if wait is not None:
                raise RateLimitError(
                    f"Rate limit reached: {limits.requests_per_minute} requests per minute.",
                    retry_after=wait,
                    code="requests_per_minute_exceeded",
                )

    def record(self, user_id: str, model: str, usage: Usage) -> None:
        with self.db.unit() as uow:
            uow.usage.add(
                user_id=user_id, model=model, day=self.today(),
                prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens,
            )  # fmt: skip
            uow.commit()

    def first_day(self, days: int) -> date:
        """The first UTC day of a period of `days` days that ends today."""
        return self.today() - timedelta(days=max(1, days) - 1)

    def usage_since(self, days: int, user_id: str | None = None) -> list[UsageRow]:
        """The ledger for the last `days` UTC days (today included), newest first."""
        with self.db.unit() as uow:
            return uow.usage.since(self.first_day(days), user_id)


_caller: ContextVar[Caller | None] = ContextVar("causerie_caller", default=None)


def bind_caller(caller: Caller | None) -> None:
    """Make engine requests of the current task (and those it starts) count for `caller`."""
    _caller.set(caller)


def bound_caller() -> Caller | None:
    return _caller.get()


class _MeteredStream:
    """Passes events through; records the usage once, at the final event or on close."""

    def __init__(self, inner: EventStream, record: Callable[[Usage], None]) -> None:
        self._inner, self._record = inner, record
        self._tokens, self._settled = 0, False

    def __aiter__(self) -> AsyncIterator[StreamEvent]:
        return self._events()

    async def _events(self) -> AsyncIterator[StreamEvent]:
        try:
            async for event in self._inner:
                self._tokens += event.token_count
                if event.finish_reason is not None and not self._settled:
                    self._settled = True
                    await asyncio.to_thread(self._safe_record, event.usage or self._partial())
                yield event
        finally:
            self._settle_in_background()

    def _partial(self) -> Usage:
        return Usage(completion_tokens=self._tokens)

    def _safe_record(self, usage: Usage) -> None:
        try:
            self._record(usage)
        except Exception:  # a ledger failure must not break the answer
            log.exception("could not record usage")

    def _settle_in_background(self) -> None:
        """A request cut short still counts, with the tokens it produced."""
        if self._settled:
            return
        self._settled = True
        try:
            asyncio.get_running_loop().run_in_executor(None, self._safe_record, self._partial())
        except RuntimeError:
            self._safe_record(self._partial())

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            self._settle_in_background()


class _Delegating:
    """Passes everything but `submit` through to the wrapped engine."""

    def __init__(self, inner: Engine, quotas: QuotaService) -> None:
        self.inner, self.quotas = inner, quotas

    def models(self) -> Sequence[ModelInfo]:
        return self.inner.models()

    async def start(self) -> None:
        await self.inner.start()

    async def close(self) -> None:
        await self.inner.close()

    def stats(self) -> dict[str, float]:
        return self.inner.stats()


class CallerEngine(_Delegating):
    """An `Engine` whose every request is admitted for, and counted to, one caller."""

    def __init__(self, inner: Engine, quotas: QuotaService, caller: Caller) -> None:
        super().__init__(inner, quotas)
        self.caller = caller

    async def submit(self, request: GenerationRequest) -> EventStream:
        caller, quotas = self.caller, self.quotas
        await asyncio.to_thread(quotas.admit, caller)
        stream = await self.inner.submit(request)
        model = self._model_id(request.model)

        def record(usage: Usage) -> None:
            quotas.record(caller.user_id, model, usage)

        return _MeteredStream(stream, record)

    def _model_id(self, asked: str) -> str:
        for info in self.inner.models():
            names = {info.id.lower(), *(a.lower() for a in info.aliases)}
            if not asked or asked.lower() in names:
                return info.id
        return asked


class MeteredEngine(_Delegating):
    """An `Engine` that meters requests for the caller bound in the context, if any."""

    async def submit(self, request: GenerationRequest) -> EventStream:
        caller = _caller.get()
        if caller is None:
            return await self.inner.submit(request)
        return await CallerEngine(self.inner, self.quotas, caller).submit(request)


def metered(engine: Engine, quotas: QuotaService, caller: Caller) -> Engine:
    """`engine` with quotas checked and usage recorded for `caller` (never twice)."""
    inner = engine.inner if isinstance(engine, MeteredEngine) else engine
    return CallerEngine(inner, quotas, caller)
