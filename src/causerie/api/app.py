"""`create_app(settings, engine)`: builds the FastAPI application; nothing happens at import.

The lifespan owns the engine: it is started before the first request and closed on
shutdown, cancelling whatever still runs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from causerie import __version__
from causerie.api import health, metrics
from causerie.api.errors import install_error_handlers
from causerie.api.metrics import Metrics
from causerie.api.openai import routes as openai_routes
from causerie.core.settings import Settings
from causerie.engine.base import Engine


def create_app(settings: Settings, engine: Engine, metrics_: Metrics | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await engine.start()
        try:
            yield
        finally:
            await engine.close()

    app = FastAPI(title="Causerie", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.metrics = metrics_ or Metrics()
    app.state.metrics.watch(engine.stats)
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(openai_routes.router)
    return app
