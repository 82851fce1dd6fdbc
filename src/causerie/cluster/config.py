"""From `Settings` + `ClusterOptions` to Ray Serve deployment options (pure, no Ray import).

Invariants: every replica gets the same explicit `parallel` and `threads` (never guessed
per node), Ray reserves `cpus_per_replica` CPUs for each, Serve sends a replica at most
its slots + queue, and autoscaling aims at `target_ongoing_requests` per replica (running +
queued requests: the queue length), by default its slot count. With session affinity,
requests that name a session go to the replica that served it before.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from causerie.core.errors import ConfigurationError
from causerie.core.settings import Settings

DEPLOYMENT_NAME = "CauserieEngine"
DEFAULT_PARALLEL = 4
# Ray Serve routes a request carrying this header by consistent hashing of its value, so
# that the turns of one conversation reach the replica holding its KV cache.
SESSION_HEADER = "x-session-id"
AFFINITY_ROUTER = "ray.serve.experimental.consistent_hash_router:ConsistentHashRouter"


@dataclass(frozen=True)
class ClusterOptions:
    """How many replicas, how big, and when to add or remove one."""

    min_replicas: int = 1
    max_replicas: int = 2
    initial_replicas: int | None = None
    cpus_per_replica: float | None = None  # default: the replica's threads
    target_ongoing_requests: float | None = None  # default: the replica's slots
    upscale_delay_s: float = 10.0
    downscale_delay_s: float = 300.0
    session_affinity: bool = False  # route by `x-session-id` rather than by queue length
    name: str = "causerie"

    def check(self) -> None:
        if self.min_replicas < 1:
            raise ConfigurationError("min_replicas must be at least 1")
        if self.max_replicas < self.min_replicas:
            raise ConfigurationError("max_replicas must be at least min_replicas")
        initial = self.initial_replicas
        if initial is not None and not self.min_replicas <= initial <= self.max_replicas:
            raise ConfigurationError("initial_replicas must lie between min and max replicas")
        if self.cpus_per_replica is not None and self.cpus_per_replica <= 0:
            raise ConfigurationError("cpus_per_replica must be positive")
        if self.target_ongoing_requests is not None and self.target_ongoing_requests <= 0:
            raise ConfigurationError("target_ongoing_requests must be positive")
        if self.upscale_delay_s < 0 or self.downscale_delay_s < 0:
            raise ConfigurationError("scaling delays cannot be negative")
        if not self.name or "#" in self.name or "/" in self.name:
            raise ConfigurationError("the application name must be non-empty, without # or /")


def replica_settings(settings: Settings, options: ClusterOptions) -> Settings:
    """The settings every replica runs with: slots and threads made explicit."""
    threads = settings.threads or max(1, math.ceil(options.cpus_per_replica or 1))
    update: dict[str, Any] = {"parallel": settings.parallel or DEFAULT_PARALLEL, "threads": threads}
    update["models_config"] = None  # a replica is one local engine, never a router
    update["database_url"] = None  # nor does it have a database: keep its password home
    return settings.model_copy(update=update)


def settings_payload(settings: Settings) -> dict[str, Any]:
    """Settings as plain JSON values for a remote replica (the API key in clear: Ray ships
    it to our own replicas only)."""
    payload = settings.model_dump(mode="json")
    payload["api_key"] = settings.api_key.get_secret_value() if settings.api_key else None
    return payload


def settings_from_payload(payload: dict[str, Any]) -> Settings:
    return Settings(**payload)


def deployment_options(settings: Settings, options: ClusterOptions) -> dict[str, Any]:
    """Keyword arguments for `serve.deployment(...)`; `settings` as `replica_settings` made."""
    options.check()
    slots = settings.parallel or DEFAULT_PARALLEL
    threads = settings.threads or 1
    autoscaling: dict[str, Any] = {
        "min_replicas": options.min_replicas,
        "max_replicas": options.max_replicas,
        "target_ongoing_requests": options.target_ongoing_requests or float(slots),
        "upscale_delay_s": options.upscale_delay_s,
        "downscale_delay_s": options.downscale_delay_s,
    }
    if options.initial_replicas is not None:
        autoscaling["initial_replicas"] = options.initial_replicas
    routing: dict[str, Any] = {}
    if options.session_affinity:
        routing["request_router_config"] = {"request_router_class": AFFINITY_ROUTER}
    return {
        **routing,
        "name": DEPLOYMENT_NAME,
        "num_replicas": "auto",
        "autoscaling_config": autoscaling,
        "max_ongoing_requests": slots + settings.queue_size,
        "ray_actor_options": {"num_cpus": options.cpus_per_replica or float(threads)},
        "max_constructor_retry_count": 2,  # a bad model fails the deploy, not loops on it
        "graceful_shutdown_timeout_s": 120.0,  # a replica scaled down finishes its answers
    }
