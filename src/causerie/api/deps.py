"""Typed FastAPI dependencies: the engine, the settings, the document indexer, and API-key
checks."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from causerie.chat.indexer import Indexer
from causerie.core.errors import AuthenticationError
from causerie.core.settings import Settings
from causerie.engine.base import Embedder, Engine
from causerie.store.db import Database


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def get_embedder(request: Request) -> Embedder | None:
    embedder: Embedder | None = getattr(request.app.state, "embedder", None)
    return embedder


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_db(request: Request) -> Database:
    db: Database | None = request.app.state.db
    if db is None:
        raise RuntimeError("this app was built without a database")
    return db


def get_indexer(request: Request) -> Indexer:
    indexer: Indexer | None = getattr(request.app.state, "indexer", None)
    if indexer is None:
        raise RuntimeError("this app was built without a database")
    return indexer


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def require_api_key(request: Request, settings: Annotated[Settings, Depends(get_settings)]) -> None:
    """When an API key is configured, every protected route needs it as a Bearer token."""
    if settings.api_key is None:
        return
    token = bearer_token(request)
    if token is None:
        raise AuthenticationError(
            "You didn't provide an API key. Send it as 'Authorization: Bearer KEY'."
        )
    if not hmac.compare_digest(token.encode(), settings.api_key.get_secret_value().encode()):
        raise AuthenticationError("Incorrect API key provided.")


EngineDep = Annotated[Engine, Depends(get_engine)]
EmbedderDep = Annotated[Embedder | None, Depends(get_embedder)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
DbDep = Annotated[Database, Depends(get_db)]
IndexerDep = Annotated[Indexer, Depends(get_indexer)]
