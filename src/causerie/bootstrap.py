"""The one place that turns settings into concrete objects: the model, the engine, the app."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from causerie.api.app import create_app
from causerie.api.metrics import Metrics
from causerie.core.settings import Settings
from causerie.engine.embedding_models import resolve_embedding_model
from causerie.engine.llamacpp.embedder import LlamaEmbedder
from causerie.engine.llamacpp.engine import EngineOptions, LlamaCppEngine, default_parallel
from causerie.engine.models import ModelCatalogue, ModelSpec
from causerie.store.db import Database, default_url

if TYPE_CHECKING:
    from fastapi import FastAPI

DEFAULT_MAX_CTX = 8192


def resolve_model(settings: Settings) -> ModelSpec:
    return ModelCatalogue(settings.models_dir).resolve(settings.model)


def engine_options(settings: Settings, spec: ModelSpec) -> EngineOptions:
    ctx = settings.ctx_size or min(spec.context_length, DEFAULT_MAX_CTX)
    return EngineOptions(
        ctx_size=ctx,
        parallel=settings.parallel or default_parallel(spec, ctx),
        threads=settings.threads or os.cpu_count() or 1,
        batch_size=settings.batch_size,
        queue_size=settings.queue_size,
        park_bytes=settings.park_bytes,
    )


def build_engine(
    settings: Settings, spec: ModelSpec | None = None, metrics: Metrics | None = None
) -> LlamaCppEngine:
    spec = spec or resolve_model(settings)
    observe = metrics.observe if metrics is not None else None
    return LlamaCppEngine(spec, engine_options(settings, spec), observe)


def build_embedder(settings: Settings) -> LlamaEmbedder | None:
    """The embedding model the settings name (a folder is converted once), or None."""
    if not settings.embedding_model:
        return None
    found = resolve_embedding_model(settings.embedding_model, settings.models_dir)
    threads = settings.threads or os.cpu_count() or 1
    return LlamaEmbedder(found.path, found.id, threads=threads)


def build_database(settings: Settings) -> Database:
    return Database(settings.database_url or default_url(settings.data_dir))


def build_app(settings: Settings, spec: ModelSpec | None = None) -> FastAPI:
    metrics = Metrics()
    engine = build_engine(settings, spec, metrics)
    return create_app(
        settings, engine, metrics, build_database(settings), embedder=build_embedder(settings)
    )
