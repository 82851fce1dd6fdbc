"""Settings come from flags > CAUSERIE_* environment > TOML file > defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from causerie.core.errors import ConfigurationError
from causerie.core.settings import load_settings


def test_defaults_are_safe(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    settings = load_settings()
    assert settings.host == "127.0.0.1"
    assert settings.api_key is None
    assert settings.data_dir == tmp_path / "data" / "causerie"
    assert settings.models_dir == tmp_path / "data" / "causerie" / "models"
    assert settings.embedding_model is None  # lexical retrieval only, no /v1/embeddings


def test_priority(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('port = 7000\nhost = "0.0.0.0"\nctx_size = 2048\n')
    monkeypatch.setenv("CAUSERIE_PORT", "9000")
    settings = load_settings(config)
    assert (settings.port, settings.host, settings.ctx_size) == (9000, "0.0.0.0", 2048)
    assert load_settings(config, port=9500, host=None).port == 9500
    monkeypatch.setenv("CAUSERIE_EMBEDDING_MODEL", "minilm")
    assert load_settings(config).embedding_model == "minilm"


def test_default_config_file_location(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "causerie").mkdir()
    (tmp_path / "causerie" / "config.toml").write_text("port = 1234\n")
    assert load_settings().port == 1234


@pytest.mark.parametrize("content", ["port = ", "port = 'x'", "unknown_key = 1"])
def test_bad_config_is_a_clear_error(tmp_path: Path, content: str) -> None:
    config = tmp_path / "c.toml"
    config.write_text(content)
    with pytest.raises(ConfigurationError):
        load_settings(config)
    with pytest.raises(ConfigurationError, match="cannot read"):
        load_settings(tmp_path / "missing.toml")
