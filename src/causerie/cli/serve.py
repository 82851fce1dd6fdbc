"""`causerie serve`: load the model, start the engine, serve HTTP, print the URL when ready."""

from __future__ import annotations

import asyncio
import logging
import secrets

import typer
import uvicorn
from pydantic import SecretStr

from causerie.api.app import create_app
from causerie.api.metrics import Metrics
from causerie.bootstrap import build_database, build_embedder, build_serving_engine, describe
from causerie.core.settings import Settings


def _bound_port(server: uvicorn.Server, fallback: int) -> int:
    for srv in getattr(server, "servers", []) or []:
        for sock in srv.sockets:
            return int(sock.getsockname()[1])
    return fallback


def server_key(settings: Settings) -> tuple[Settings, str | None]:
    """Without `--api-key`, /v1 is still protected: by a random key kept in the data
    directory (0600) and shown at start-up, so that local OpenAI clients can use it."""
    if settings.api_key is not None:
        return settings, None
    path = settings.data_dir / "api_key"
    if path.is_file():
        key = path.read_text().strip()
    else:
        key = "csk-server-" + secrets.token_urlsafe(24)
        path.touch(mode=0o600)
        path.write_text(key + "\n")
    return settings.model_copy(update={"api_key": SecretStr(key)}), key


async def _serve(settings: Settings) -> None:
    metrics = Metrics()
    engine = build_serving_engine(settings, metrics)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings, generated = server_key(settings)
    typer.echo(describe(engine))
    await engine.start()  # fail here, with one line, rather than inside uvicorn
    embedder = build_embedder(settings)
    database = build_database(settings)
    if embedder is not None:
        await embedder.start()
        typer.echo(
            f"Embeddings: {embedder.info.id} ({embedder.dimensions} dimensions,"
            f" vector search: {database.vector_search})"
        )
    app = create_app(settings, engine, metrics, database, embedder=embedder)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level="warning" if settings.log_level == "info" else settings.log_level,
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started and not task.done():
        await asyncio.sleep(0.05)
    if server.started:
        host = settings.host if ":" not in settings.host else f"[{settings.host}]"
        url = f"http://{host}:{_bound_port(server, settings.port)}"
        typer.echo(f"Causerie is ready at {url}  (OpenAI API: {url}/v1)", color=False)
        if generated:
            typer.echo(f"API key for {url}/v1: {generated}  (kept in {settings.data_dir}/api_key)")
    try:
        await task
    finally:
        await engine.close()
        if embedder is not None:
            await embedder.close()
    if not server.started:
        raise SystemExit(1)


def serve(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        import uvloop  # uvicorn[standard]: a faster event loop for the streaming hot path
    except ImportError:
        asyncio.run(_serve(settings))
    else:
        uvloop.run(_serve(settings))
