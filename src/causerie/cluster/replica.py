"""`EngineReplica`: what one Ray Serve replica runs — our engine and its /v1 API.

The constructor builds the engine from the settings payload (the model is resolved on the
replica's node); `__serve_build_asgi_app__` hands Ray Serve the ASGI app, whose lifespan
loads the weights and starts the decode thread. Ray is imported only inside a replica.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any

from causerie.api.engine_app import create_engine_app
from causerie.api.metrics import Metrics
from causerie.bootstrap import build_engine
from causerie.cluster.config import settings_from_payload

if TYPE_CHECKING:
    from fastapi import FastAPI


def replica_name() -> str:
    """`host/replica-tag`: unique within the cluster, readable in logs and headers."""
    from ray import serve

    return f"{socket.gethostname()}/{serve.get_replica_context().replica_tag}"


class EngineReplica:
    """One engine replica; Ray Serve wraps it with `serve.ingress()` and `serve.deployment`."""

    def __init__(self, payload: dict[str, Any]) -> None:
        self.settings = settings_from_payload(payload)
        self.metrics = Metrics()
        self.engine = build_engine(self.settings, metrics=self.metrics)
        self.name = replica_name()

    def __serve_build_asgi_app__(self) -> FastAPI:
        return create_engine_app(self.settings, self.engine, self.metrics, replica=self.name)
