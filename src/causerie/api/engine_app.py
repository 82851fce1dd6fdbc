"""`create_engine_app(settings, engine, ...)`: the API of one engine replica, no database.

It serves only `/v1/*`, `/metrics` (server key) and `/health` (public): what a cluster
replica behind Ray Serve or a load balancer needs. Users, sessions and quotas live in the
app tier, which calls the replicas with the server key. The lifespan starts and closes
the engine; `replica` names this replica in an `x-causerie-replica` response header.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from causerie import __version__
from causerie.api import health, metrics
from causerie.api.errors import install_error_handlers
from causerie.api.metrics import Metrics
from causerie.api.openai import routes as openai_routes
from causerie.core.settings import Settings
from causerie.engine.base import Engine
from causerie.web import headers as web_headers

REPLICA_HEADER = "x-causerie-replica"


class ReplicaHeader:
    """Pure ASGI middleware: names the replica on every HTTP response (streams untouched)."""

    def __init__(self, app: ASGIApp, replica: str) -> None:
        self.app, self.replica = app, replica

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def named(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[REPLICA_HEADER] = self.replica
            await send(message)

        await self.app(scope, receive, named)


def create_engine_app(
    settings: Settings,
    engine: Engine,
    metrics_: Metrics | None = None,
    replica: str | None = None,
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await engine.start()
        try:
            yield
        finally:
            await engine.close()

    app = FastAPI(title="Causerie engine replica", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.db = None  # no accounts here: /v1 takes the server key (or is open without one)
    app.state.metrics = metrics_ or Metrics()
    app.state.metrics.watch(engine.stats)
    install_error_handlers(app)
    app.add_middleware(web_headers.SecurityHeaders)
    if replica is not None:
        app.add_middleware(ReplicaHeader, replica=replica)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(openai_routes.router)
    return app
