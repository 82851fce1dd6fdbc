"""Typed FastAPI dependencies: the engine, the settings, the database, the document indexer.

They only read the app's state, so they are coroutines: FastAPI runs a plain `def`
dependency in its thread pool, a hop per request that a busy pool would delay."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from causerie.chat.indexer import Indexer
from causerie.core.settings import Settings
from causerie.engine.base import Embedder, Engine
from causerie.store.db import Database


async def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


async def get_embedder(request: Request) -> Embedder | None:
    embedder: Embedder | None = getattr(request.app.state, "embedder", None)
    return embedder


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def app_db(request: Request) -> Database:
    db: Database | None = request.app.state.db
    if db is None:
        raise RuntimeError("this app was built without a database")
    return db


async def get_db(request: Request) -> Database:
    return app_db(request)


async def get_indexer(request: Request) -> Indexer:
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


EngineDep = Annotated[Engine, Depends(get_engine)]
EmbedderDep = Annotated[Embedder | None, Depends(get_embedder)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
DbDep = Annotated[Database, Depends(get_db)]
IndexerDep = Annotated[Indexer, Depends(get_indexer)]
