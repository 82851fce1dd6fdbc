"""Settings + cluster options -> the Ray Serve deployment (pure mapping, then as Ray reads it)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from pydantic import SecretStr

from causerie.cluster.config import (
    AFFINITY_ROUTER,
    DEPLOYMENT_NAME,
    ClusterOptions,
    deployment_options,
    replica_settings,
    settings_from_payload,
    settings_payload,
)
from causerie.core.errors import ConfigurationError
from causerie.core.settings import Settings


def test_replicas_get_explicit_slots_and_threads(tmp_path: Path) -> None:
    bare = replica_settings(Settings(data_dir=tmp_path), ClusterOptions())
    assert (bare.parallel, bare.threads) == (4, 1)
    sized = replica_settings(Settings(data_dir=tmp_path), ClusterOptions(cpus_per_replica=2.5))
    assert sized.threads == 3
    kept = replica_settings(
        Settings(data_dir=tmp_path, parallel=2, threads=6), ClusterOptions(cpus_per_replica=4)
    )
    assert (kept.parallel, kept.threads) == (2, 6)


def test_autoscaling_targets_the_queue_and_caps_at_slots_plus_queue(tmp_path: Path) -> None:
    options = ClusterOptions(min_replicas=2, max_replicas=5, initial_replicas=3)
    settings = replica_settings(
        Settings(data_dir=tmp_path, parallel=2, threads=1, queue_size=10), options
    )
    opts = deployment_options(settings, options)
    assert opts["name"] == DEPLOYMENT_NAME and opts["num_replicas"] == "auto"
    assert opts["autoscaling_config"] == {
        "min_replicas": 2,
        "max_replicas": 5,
        "initial_replicas": 3,
        "target_ongoing_requests": 2.0,
        "upscale_delay_s": 10.0,
        "downscale_delay_s": 300.0,
    }
    assert opts["max_ongoing_requests"] == 12
    assert opts["ray_actor_options"] == {"num_cpus": 1.0}
    tuned = ClusterOptions(target_ongoing_requests=5, cpus_per_replica=8, upscale_delay_s=1)
    opts = deployment_options(replica_settings(Settings(data_dir=tmp_path), tuned), tuned)
    assert opts["autoscaling_config"]["target_ongoing_requests"] == 5
    assert opts["autoscaling_config"]["upscale_delay_s"] == 1
    assert "initial_replicas" not in opts["autoscaling_config"]
    assert opts["ray_actor_options"] == {"num_cpus": 8}
    assert opts["max_ongoing_requests"] == 4 + 64
    assert "request_router_config" not in opts  # Ray's default: the shorter of two queues


@pytest.mark.parametrize(
    ("options", "words"),
    [
        (ClusterOptions(min_replicas=0), "min_replicas"),
        (ClusterOptions(min_replicas=3, max_replicas=2), "max_replicas"),
        (ClusterOptions(min_replicas=1, max_replicas=2, initial_replicas=3), "initial_replicas"),
        (ClusterOptions(cpus_per_replica=0), "cpus_per_replica"),
        (ClusterOptions(target_ongoing_requests=-1), "target_ongoing_requests"),
        (ClusterOptions(downscale_delay_s=-1), "delays"),
        (ClusterOptions(name="a#b"), "name"),
    ],
)
def test_bad_options_are_refused_in_words(
    tmp_path: Path, options: ClusterOptions, words: str
) -> None:
    with pytest.raises(ConfigurationError, match=words):
        deployment_options(Settings(data_dir=tmp_path), options)


def test_the_payload_is_plain_json_and_keeps_the_key(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, api_key=SecretStr("s3cret"), parallel=3, ctx_size=512)
    payload = settings_payload(settings)
    assert payload["api_key"] == "s3cret" and payload["data_dir"] == str(tmp_path)
    assert all(isinstance(v, str | int | float | bool | type(None)) for v in payload.values())
    back = settings_from_payload(payload)
    assert back == settings and back.api_key is not None
    assert back.api_key.get_secret_value() == "s3cret"
    assert settings_payload(Settings(data_dir=tmp_path))["api_key"] is None


def test_ray_serve_reads_the_deployment_as_meant(tmp_path: Path) -> None:
    from causerie.cluster.ray_serve import build_deployment

    options = ClusterOptions(min_replicas=2, max_replicas=4)
    settings = replica_settings(Settings(data_dir=tmp_path, parallel=2, threads=1), options)
    deployment = build_deployment(settings, options)
    assert deployment.name == DEPLOYMENT_NAME
    assert deployment.max_ongoing_requests == 2 + 64
    assert deployment.ray_actor_options is not None
    assert deployment.ray_actor_options["num_cpus"] == 1.0
    scaling = deployment._deployment_config.autoscaling_config  # no public accessor
    assert scaling is not None
    assert (scaling.min_replicas, scaling.max_replicas) == (2, 4)
    assert scaling.target_ongoing_requests == 2.0


def test_session_affinity_is_ray_serves_consistent_hash_router(tmp_path: Path) -> None:
    from causerie.cluster.ray_serve import build_deployment

    options = ClusterOptions(session_affinity=True)
    settings = replica_settings(Settings(data_dir=tmp_path), options)
    assert deployment_options(settings, options)["request_router_config"] == {
        "request_router_class": AFFINITY_ROUTER
    }
    routing = build_deployment(settings, options)._deployment_config.request_router_config
    assert routing.request_router_class == AFFINITY_ROUTER
    module, _, name = AFFINITY_ROUTER.partition(":")
    assert hasattr(importlib.import_module(module), name)


def test_replicas_get_no_database_url(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url="postgresql://app:pw@db/causerie")
    assert replica_settings(settings, ClusterOptions()).database_url is None
