"""Public liveness route: `/health` answers without credentials and reveals no user data."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from causerie import __version__
from causerie.api.deps import EngineDep

router = APIRouter(tags=["health"])


@router.get("/health")
async def health(engine: EngineDep) -> dict[str, Any]:
    stats = engine.stats()
    return {
        "status": "ok",
        "version": __version__,
        "models": [m.id for m in engine.models()],
        "running": int(stats.get("running", 0)),
        "queued": int(stats.get("queued", 0)),
    }
