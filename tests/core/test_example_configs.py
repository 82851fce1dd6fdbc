"""The example configurations of docs/deployment.md stay valid: the settings file loads as
Causerie settings, the models config has the documented shape and replica kinds."""

from __future__ import annotations

import tomllib
from pathlib import Path

from causerie.core.settings import load_settings
from causerie.engine.modelsconfig import load_models_config

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
KINDS = {"local", "remote", "vllm"}
REPLICA_KEYS = {"engine", "url", "model", "api_key_env", "tensor_parallel_size"}


def test_the_team_server_config_loads_as_settings(tmp_path: Path) -> None:
    settings = load_settings(EXAMPLES / "causerie.toml")
    assert settings.models_config is not None
    assert settings.parallel == 4 and settings.requests_per_minute == 30
    assert settings.data_dir == Path("/var/lib/causerie")


def test_the_models_config_has_the_documented_shape() -> None:
    models = tomllib.loads((EXAMPLES / "models.toml").read_text())["models"]
    ids = [m["id"] for m in models]
    assert len(ids) == len(set(ids)) >= 3
    kinds = set()
    for model in models:
        assert set(model) == {"id", "replicas"} and model["replicas"], model
        for replica in model["replicas"]:
            assert set(replica) <= REPLICA_KEYS and replica["engine"] in KINDS, replica
            if replica["engine"] == "remote":
                assert replica["url"].endswith("/v1") and replica["model"]
            kinds.add(replica["engine"])
    assert kinds == KINDS


def test_the_models_config_loads_with_the_routers_loader() -> None:
    config = load_models_config(EXAMPLES / "models.toml")
    assert {m.id for m in config.models} >= {"smollm2-135m"}


def test_the_deployment_guide_links_only_existing_examples() -> None:
    guide = (EXAMPLES.parent / "deployment.md").read_text()
    for example in EXAMPLES.iterdir():
        assert f"examples/{example.name}" in guide, example.name
    for name in ("causerie.toml", "models.toml", "causerie@.service", "nginx.conf"):
        assert (EXAMPLES / name).is_file()
