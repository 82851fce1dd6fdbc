"""Requests never wait on FastAPI's thread pool to be authenticated or handed the engine:
the dependencies that only read the app's state are coroutines. With every thread of the
pool busy (slow document or database work, say), `/v1` requests are still answered."""

from __future__ import annotations

import asyncio
from pathlib import Path

import anyio.to_thread
import httpx
from pydantic import SecretStr

from causerie.api.app import create_app
from causerie.core.settings import Settings
from causerie.store.db import Database
from tests.support.fake_engine import ScriptedEngine

KEY = "server-key"


async def _answers_with_a_full_thread_pool(tmp_path: Path) -> list[int]:
    db = Database(f"sqlite:///{tmp_path / 'causerie.db'}")
    settings = Settings(data_dir=tmp_path, api_key=SecretStr(KEY))
    app = create_app(settings, ScriptedEngine(), db=db)
    limiter = anyio.to_thread.current_default_thread_limiter()
    holders = [object() for _ in range(int(limiter.total_tokens))]
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {KEY}"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://causerie", headers=headers
        ) as client:
            for holder in holders:  # every thread of the pool is taken
                await limiter.acquire_on_behalf_of(holder)
            try:
                body = {"model": "scripted", "messages": [{"role": "user", "content": "Hi"}]}
                statuses = []
                for stream in (False, True):
                    reply = await asyncio.wait_for(
                        client.post("/v1/chat/completions", json={**body, "stream": stream}),
                        timeout=10,
                    )
                    statuses.append(reply.status_code)
                models = await asyncio.wait_for(client.get("/v1/models"), timeout=10)
                statuses.append(models.status_code)
            finally:
                for holder in holders:
                    limiter.release_on_behalf_of(holder)
    db.close()
    return statuses


def test_v1_requests_are_served_while_the_thread_pool_is_full(tmp_path: Path) -> None:
    assert asyncio.run(_answers_with_a_full_thread_pool(tmp_path)) == [200, 200, 200]
