"""The models config: TOML parsed into typed replica specs, one-line errors for bad files,
and bootstrap building a router from it (and a single local engine without it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from causerie.bootstrap import build_serving_engine, describe
from causerie.core.errors import ConfigurationError
from causerie.core.settings import Settings
from causerie.engine.llamacpp.engine import LlamaCppEngine
from causerie.engine.modelsconfig import (
    LocalReplicaSpec,
    RemoteReplicaSpec,
    VllmReplicaSpec,
    load_models_config,
)
from causerie.engine.remote import RemoteEngine
from causerie.engine.router import Router
from causerie.engine.vllm import VllmEngine

EXAMPLE = """
[router]
health_interval = 2

[[models]]
id = "smollm2-135m"
aliases = ["small"]
replicas = [
  { engine = "local", model = "smollm2-135m", parallel = 2, threads = 1 },
  { engine = "remote", url = "http://127.0.0.1:8001/v1", api_key_env = "UPSTREAM_KEY", model = "smollm2-135m" },
]

[[models]]
id = "qwen-7b"
replicas = [ { engine = "vllm", model = "/models/qwen", tensor_parallel_size = 2 } ]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "models.toml"
    path.write_text(text)
    return path


def test_parses_replicas_into_typed_specs(tmp_path: Path) -> None:
    config = load_models_config(write(tmp_path, EXAMPLE))
    assert [m.id for m in config.models] == ["smollm2-135m", "qwen-7b"]
    local, remote = config.models[0].replicas
    assert isinstance(local, LocalReplicaSpec) and local.parallel == 2
    assert isinstance(remote, RemoteReplicaSpec) and remote.api_key_env == "UPSTREAM_KEY"
    (vllm,) = config.models[1].replicas
    assert isinstance(vllm, VllmReplicaSpec) and vllm.tensor_parallel_size == 2
    assert config.router.health_interval == 2


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[[models]]\nid = 'x'\nreplicas = [ { engine = 'gpu' } ]", "models.0.replicas.0"),
        ("[[models]]\nid = 'x'\nreplicas = []", "replicas"),
        ("[[models]]\nid = 'x'\nreplicas = [ { engine = 'remote', url = 'ftp://h' } ]", "url"),
        ("[[models]]\nid = 'x'\nreplicas = [ { engine = 'local', color = 1 } ]", "color"),
        (
            "[[models]]\nid = 'x'\nreplicas = [ { engine = 'local' } ]\n"
            "[[models]]\nid = 'X'\nreplicas = [ { engine = 'local' } ]",
            "listed twice",
        ),
        ("models = [", "not valid TOML"),
    ],
)
def test_bad_configs_are_one_line_errors(tmp_path: Path, text: str, needle: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        load_models_config(write(tmp_path, text))
    assert needle in info.value.message
    assert "\n" not in info.value.message


def test_missing_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read models config"):
        load_models_config(tmp_path / "absent.toml")


def test_bootstrap_builds_a_router_from_the_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UPSTREAM_KEY", "secret")
    settings = Settings(data_dir=tmp_path, models_config=write(tmp_path, EXAMPLE))
    engine = build_serving_engine(settings)
    assert isinstance(engine, Router)
    assert [m.id for m in engine.models()] == ["smollm2-135m", "qwen-7b"]
    kinds = [type(r.engine) for r in engine.replicas()]
    assert kinds == [LlamaCppEngine, RemoteEngine, VllmEngine]
    local = engine.replicas()[0].engine
    assert isinstance(local, LlamaCppEngine) and local.options.parallel == 2
    remote = engine.replicas()[1].engine
    assert isinstance(remote, RemoteEngine) and remote.options.api_key == "secret"
    assert engine.options.health_interval == 2
    assert describe(engine).startswith("Routing smollm2-135m (2 replica(s))")

    monkeypatch.delenv("UPSTREAM_KEY")
    with pytest.raises(ConfigurationError, match="UPSTREAM_KEY"):
        build_serving_engine(settings)


def test_without_a_models_config_one_local_engine_serves(tmp_path: Path) -> None:
    engine = build_serving_engine(Settings(data_dir=tmp_path, threads=1, parallel=1))
    assert isinstance(engine, LlamaCppEngine)
    assert describe(engine).startswith("Loading smollm2-135m")
