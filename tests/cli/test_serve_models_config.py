"""`causerie serve --models-config`: a real server routing one model to a local llama.cpp
replica and another to a remote one (the session server), listing both on /v1/models and
answering on each; a bad config stops the start with one line."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import openai
import pytest
from openai import OpenAI

from tests.conftest import API_KEY, CAUSERIE, Server, start_server, stop_server

KEY = "k-router"


def test_routes_to_a_local_and_a_remote_replica(server: Server, tmp_path: Path) -> None:
    config = tmp_path / "models.toml"
    config.write_text(
        '[[models]]\nid = "here"\n'
        'replicas = [ { engine = "local", model = "smollm2-135m", ctx_size = 512, '
        "parallel = 1, threads = 1 } ]\n\n"
        '[[models]]\nid = "there"\naliases = ["upstream"]\n'
        f'replicas = [ {{ engine = "remote", url = "{server.v1}", model = "smollm2-135m", '
        'api_key_env = "ROUTER_UPSTREAM_KEY" } ]\n'
    )
    srv = start_server(
        tmp_path / "data", "--models-config", str(config), api_key=KEY,
        env={"ROUTER_UPSTREAM_KEY": API_KEY},
    )  # fmt: skip
    try:
        client = OpenAI(base_url=srv.v1, api_key=KEY, max_retries=0, timeout=60)
        cards = {m.id: m for m in client.models.list().data}
        assert list(cards) == ["here", "there"]
        assert cards["here"].context_length == 512  # type: ignore[attr-defined]
        assert cards["there"].context_length == 1024  # type: ignore[attr-defined]  # upstream's
        for model in ("here", "upstream"):
            answer = client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": "Hi"}], max_tokens=4
            )
            assert answer.choices[0].message.content
            assert answer.usage is not None and answer.usage.completion_tokens > 0
        with pytest.raises(openai.NotFoundError) as info:
            client.chat.completions.create(
                model="nowhere", messages=[{"role": "user", "content": "Hi"}], max_tokens=4
            )
        assert isinstance(info.value.body, dict) and info.value.body["code"] == "model_not_found"
        metrics = httpx.get(srv.url + "/metrics", headers={"Authorization": f"Bearer {KEY}"})
        assert "causerie_replicas 2.0" in metrics.text
        assert "causerie_replicas_healthy 2.0" in metrics.text
    finally:
        stop_server(srv)


def test_a_bad_models_config_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "models.toml"
    config.write_text('[[models]]\nid = "x"\nreplicas = [ { engine = "tpu" } ]\n')
    result = subprocess.run(
        [CAUSERIE, "serve", "--data-dir", str(tmp_path), "--models-config", str(config)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("causerie: error: models config")
