"""The one place that turns settings into concrete objects: the model, the engine, the app.

Without a models config the engine is one local llama.cpp engine; with one it is a
`Router` over the replicas the config lists (local, remote, vLLM).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from causerie.api.app import create_app
from causerie.api.metrics import Metrics
from causerie.core.settings import Settings
from causerie.engine.base import Engine
from causerie.engine.embedding_models import resolve_embedding_model
from causerie.engine.llamacpp.embedder import LlamaEmbedder
from causerie.engine.llamacpp.engine import EngineOptions, LlamaCppEngine, default_parallel
from causerie.engine.models import ModelCatalogue, ModelSpec
from causerie.engine.modelsconfig import (
    LocalReplicaSpec,
    ModelsConfig,
    RemoteReplicaSpec,
    VllmReplicaSpec,
    load_models_config,
)
from causerie.engine.remote import RemoteEngine, RemoteOptions
from causerie.engine.router import ModelRoute, Replica, Router, RouterOptions
from causerie.engine.vllm import VllmEngine, VllmOptions
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


def _replica(
    settings: Settings,
    spec: LocalReplicaSpec | RemoteReplicaSpec | VllmReplicaSpec,
    metrics: Metrics | None,
) -> Replica:
    if isinstance(spec, LocalReplicaSpec):
        local = settings.model_copy(
            update={
                k: v
                for k, v in (
                    ("model", spec.model),
                    ("ctx_size", spec.ctx_size),
                    ("parallel", spec.parallel),
                    ("threads", spec.threads),
                )
                if v is not None
            }
        )
        engine = build_engine(local, None, metrics)
        return Replica(f"local:{engine.spec.id}", engine)
    if isinstance(spec, RemoteReplicaSpec):
        options = RemoteOptions(
            url=spec.url,
            model=spec.model,
            api_key=spec.api_key(),
            context_length=spec.context_length,
            connect_timeout=spec.connect_timeout,
            read_timeout=spec.read_timeout,
        )
        return Replica(f"remote:{spec.url}", RemoteEngine(options), spec.model)
    vllm = VllmOptions(**spec.model_dump(exclude={"engine"}))
    return Replica(f"vllm:{spec.model}", VllmEngine(vllm))


def build_router(
    settings: Settings, config: ModelsConfig, metrics: Metrics | None = None
) -> Router:
    routes = [
        ModelRoute(
            id=entry.id,
            aliases=entry.aliases,
            context_length=entry.context_length,
            replicas=[_replica(settings, r, metrics) for r in entry.replicas],
        )
        for entry in config.models
    ]
    options = RouterOptions(
        health_interval=config.router.health_interval,
        max_attempts=config.router.max_attempts,
        affinity_slack=config.router.affinity_slack,
    )
    return Router(routes, options)


def build_serving_engine(settings: Settings, metrics: Metrics | None = None) -> Engine:
    """The engine `causerie serve` runs: a router from the models config, else one local
    engine on `settings.model`."""
    if settings.models_config is not None:
        return build_router(settings, load_models_config(settings.models_config), metrics)
    return build_engine(settings, None, metrics)


def describe(engine: Engine) -> str:
    """One line for the start-up banner."""
    if isinstance(engine, LlamaCppEngine):
        opts, spec = engine.options, engine.spec
        return (
            f"Loading {spec.id} ({spec.path.name}): context {opts.ctx_size} tokens, "
            f"{opts.parallel} parallel slots, {opts.threads} threads"
        )
    if isinstance(engine, Router):
        parts = [f"{r.id} ({len(r.replicas)} replica(s))" for r in engine.routes]
        return "Routing " + ", ".join(parts)
    return f"Serving {', '.join(m.id for m in engine.models())}"


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
    engine: Engine = (
        build_serving_engine(settings, metrics)
        if spec is None
        else build_engine(settings, spec, metrics)
    )
    return create_app(
        settings, engine, metrics, build_database(settings), embedder=build_embedder(settings)
    )
