"""`create_app(settings, engine, ...)`: builds the FastAPI application; nothing at import.

The lifespan owns the resources: it migrates the database (when the app has one), repairs
answers a dead process left streaming (at start and periodically), starts the engine
(and the embedding model, when there is one: it then embeds in the background the
chunks indexed without it) before the first request, runs the document indexer (uploads
are indexed in the background; see chat/indexer.py), and closes them all on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from causerie import __version__
from causerie.api import health, metrics
from causerie.api.errors import install_error_handlers
from causerie.api.metrics import Metrics
from causerie.api.native import admin as admin_routes
from causerie.api.native import auth as auth_routes
from causerie.api.native import conversations as conversation_routes
from causerie.api.native import documents as document_routes
from causerie.api.native import keys as key_routes
from causerie.api.native import knowledge as knowledge_routes
from causerie.api.native import me as me_routes
from causerie.api.native import personas as persona_routes
from causerie.api.native import tools as tool_routes
from causerie.api.native import transfer as transfer_routes
from causerie.api.openai import embeddings as embedding_routes
from causerie.api.openai import routes as openai_routes
from causerie.api.security import install_accounts
from causerie.chat.indexer import Indexer
from causerie.chat.recovery import keep_recovering, recover_at_start
from causerie.chat.vectors import backfill
from causerie.core.settings import Settings
from causerie.engine.base import Embedder, Engine
from causerie.store.db import Database
from causerie.web import headers as web_headers
from causerie.web import routes as web_routes

log = logging.getLogger("causerie.api")


def _report_failure(task: asyncio.Future[int]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("embedding the existing document chunks failed: %s", task.exception())


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def _finish(work: asyncio.Future[int], stop: threading.Event) -> None:
    stop.set()
    await asyncio.gather(work, return_exceptions=True)


def create_app(
    settings: Settings,
    engine: Engine,
    metrics_: Metrics | None = None,
    db: Database | None = None,
    embedder: Embedder | None = None,
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # each resource's release is registered as soon as it is acquired: a failure at
        # start-up (a model that will not load, say) still releases what came before it,
        # and shutdown releases everything in reverse order
        async with contextlib.AsyncExitStack() as resources:
            if db is not None:
                from causerie.store.migrate import upgrade

                resources.callback(db.close)
                await asyncio.to_thread(upgrade, db)
                await asyncio.to_thread(recover_at_start, db)
                resources.push_async_callback(_cancel, asyncio.create_task(keep_recovering(db)))
            resources.push_async_callback(engine.close)
            await engine.start()
            if embedder is not None:
                resources.push_async_callback(embedder.close)
                await embedder.start()
                if db is not None:
                    stop = threading.Event()
                    backfilling = asyncio.ensure_future(
                        asyncio.to_thread(backfill, db, embedder, stop)
                    )
                    backfilling.add_done_callback(_report_failure)
                    resources.push_async_callback(_finish, backfilling, stop)
            if db is not None:
                indexer = app.state.indexer = Indexer(db, settings.data_dir, embedder)
                resources.push_async_callback(indexer.close)
                await indexer.start()
            yield

    app = FastAPI(title="Causerie", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.embedder = embedder
    app.state.db = db
    app.state.indexer = None  # set by the lifespan when there is a database
    app.state.metrics = metrics_ or Metrics()
    app.state.metrics.watch(engine.stats)
    install_accounts(app)  # account/quota services; meters the engine for /v1 callers
    install_error_handlers(app)
    app.add_middleware(web_headers.SecurityHeaders)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(openai_routes.router)
    app.include_router(embedding_routes.router)
    app.include_router(auth_routes.router)
    app.include_router(key_routes.router)
    app.include_router(admin_routes.router)
    app.include_router(conversation_routes.router)
    app.include_router(persona_routes.router)
    app.include_router(document_routes.router)
    app.include_router(knowledge_routes.router)
    app.include_router(me_routes.router)
    app.include_router(transfer_routes.router)
    app.include_router(tool_routes.router)
    app.include_router(web_routes.router)
    return app
