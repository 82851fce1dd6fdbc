"""Prometheus metrics at `/metrics`.

The engine knows nothing of Prometheus: it calls `Metrics.observe(name, value)` from its
decode thread, and gauges (running, queued, slots) are read from `engine.stats()` at
scrape time. Each app gets its own registry — nothing is registered at import.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

from causerie.api.security import api_caller

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class _EngineGauges(Collector):
    def __init__(self, stats: Callable[[], dict[str, float]]) -> None:
        self._stats = stats

    def collect(self) -> Iterator[GaugeMetricFamily]:
        stats = self._stats()
        for key, help_text in (
            ("running", "requests being decoded"),
            ("queued", "requests waiting for a slot"),
            ("slots", "KV-cache slots"),
            ("slots_busy", "slots holding a running request"),
            ("parked", "conversations whose KV cache is parked in RAM"),
            ("replicas", "engine replicas behind the router"),
            ("replicas_healthy", "engine replicas that passed their last health check"),
        ):
            yield GaugeMetricFamily(f"causerie_{key}", help_text, value=stats.get(key, 0))


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.prompt_tokens = Counter("causerie_prompt_tokens", "prompt tokens received", registry=r)
        self.prefill_tokens = Counter(
            "causerie_prompt_tokens_processed", "prompt tokens decoded (not reused)", registry=r
        )
        self.cached_tokens = Counter(
            "causerie_prompt_tokens_reused", "prompt tokens served from the KV cache", registry=r
        )
        self.copied_tokens = Counter(
            "causerie_prompt_tokens_copied",
            "prompt tokens copied from another slot's cache (a shared system prompt)",
            registry=r,
        )
        self.moved_tokens = Counter(
            "causerie_kv_tokens_moved",
            "cache tokens moved to keep the busy slots contiguous (one micro-batch per step)",
            registry=r,
        )
        self.generated = Counter("causerie_generated_tokens", "tokens generated", registry=r)
        self.finished = Counter("causerie_requests_finished", "requests finished", registry=r)
        self.ttft = Histogram(
            "causerie_time_to_first_token_seconds", "time to first token",
            buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.itl = Histogram(
            "causerie_inter_token_latency_seconds", "time between two tokens of a request",
            buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.queue_wait = Histogram(
            "causerie_queue_wait_seconds", "time from submission to a slot",
            buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self._by_name: dict[str, Callable[[float], None]] = {
            "prompt_tokens": self.prompt_tokens.inc,
            "prefill_tokens": self.prefill_tokens.inc,
            "cached_tokens": self.cached_tokens.inc,
            "copied_tokens": self.copied_tokens.inc,
            "moved_tokens": self.moved_tokens.inc,
            "generated_tokens": self.generated.inc,
            "finished": self.finished.inc,
            "ttft": self.ttft.observe,
            "itl": self.itl.observe,
            "queue_wait": self.queue_wait.observe,
        }

    def observe(self, name: str, value: float) -> None:
        handler = self._by_name.get(name)
        if handler is not None:
            handler(value)

    def watch(self, stats: Callable[[], dict[str, float]]) -> None:
        self.registry.register(_EngineGauges(stats))


router = APIRouter(tags=["metrics"], dependencies=[Depends(api_caller)])


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
