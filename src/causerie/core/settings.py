"""Settings from, highest priority first: command-line flags, `CAUSERIE_*` environment
variables, a TOML config file, then defaults.

The config file is `--config PATH`, else `$CAUSERIE_CONFIG`, else
`$XDG_CONFIG_HOME/causerie/config.toml` when it exists. Everything Causerie writes lives
under `data_dir` (XDG data home by default).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from causerie.core.errors import ConfigurationError


def _xdg(var: str, fallback: str) -> Path:
    value = os.environ.get(var)
    return Path(value) if value else Path.home() / fallback


def default_data_dir() -> Path:
    return _xdg("XDG_DATA_HOME", ".local/share") / "causerie"


def default_config_file() -> Path:
    return _xdg("XDG_CONFIG_HOME", ".config") / "causerie" / "config.toml"


class Settings(BaseSettings):
    """Every knob of Causerie. Field names are the TOML keys; env vars add `CAUSERIE_`."""

    model_config = SettingsConfigDict(env_prefix="CAUSERIE_", extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    model: str | None = Field(default=None, description="model id, file name or .gguf path")
    embedding_model: str | None = Field(
        default=None, description="'minilm', an embedding .gguf, or a BERT folder (none: lexical)"
    )
    ctx_size: int | None = Field(default=None, ge=64, description="context per sequence")
    parallel: int | None = Field(default=None, ge=1, le=256, description="sequence slots")
    threads: int | None = Field(default=None, ge=1)
    batch_size: int = Field(default=512, ge=16, description="tokens decoded per step at most")
    queue_size: int = Field(default=64, ge=1, description="requests waiting at most")
    park_bytes: int = Field(default=512 * 1024 * 1024, ge=0, description="RAM for parked KV")
    api_key: SecretStr | None = None
    data_dir: Path = Field(default_factory=default_data_dir)
    session_days: int = Field(default=30, ge=1, description="idle days before a session ends")
    login_attempts_per_email: int = Field(default=5, ge=1, description="failures per 15 min")
    login_attempts_per_ip: int = Field(default=20, ge=1, description="failures per 15 min")
    requests_per_minute: int | None = Field(default=None, ge=0, description="per-user default")
    tokens_per_day: int | None = Field(default=None, ge=0, description="per-user default")
    database_url: str | None = Field(default=None, description="default: SQLite in data_dir")
    models_config: Path | None = Field(
        default=None, description="TOML file: model ids and their replicas (router)"
    )
    hf_endpoint: str | None = None
    log_level: str = "info"

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings)


def _read_config(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigurationError(f"cannot read config file {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"config file {path} is not valid TOML: {exc}") from exc


def load_settings(config_file: Path | None = None, **flags: Any) -> Settings:
    """Build settings: `flags` (None values ignored) > env > config file > defaults."""
    path = config_file
    if path is None and os.environ.get("CAUSERIE_CONFIG"):
        path = Path(os.environ["CAUSERIE_CONFIG"])
    if path is None and default_config_file().is_file():
        path = default_config_file()
    from_file = _read_config(path) if path is not None else {}
    env_keys = {name for name in Settings.model_fields if f"CAUSERIE_{name.upper()}" in os.environ}
    values = {k: v for k, v in from_file.items() if k not in env_keys}
    values.update({k: v for k, v in flags.items() if v is not None})
    try:
        return Settings(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigurationError(f"invalid setting {where}: {first['msg']}") from exc
