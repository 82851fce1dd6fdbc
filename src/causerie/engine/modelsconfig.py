"""The models config (`--models-config PATH`): which model ids are served, each by which
replicas (a local GGUF engine, a remote OpenAI-compatible URL, an in-process vLLM).

Parsed from TOML into typed specs; a bad file is one `ConfigurationError` line naming the
offending key. Building engines from specs is bootstrap.py's job, not this module's.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from causerie.core.errors import ConfigurationError


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LocalReplicaSpec(_Spec):
    """A llama.cpp engine in this process; `model` is an id, file name or .gguf path."""

    engine: Literal["local"]
    model: str | None = None
    ctx_size: int | None = Field(default=None, ge=64)
    parallel: int | None = Field(default=None, ge=1, le=256)
    threads: int | None = Field(default=None, ge=1)


class RemoteReplicaSpec(_Spec):
    """An OpenAI-compatible upstream; its key is read from the env var `api_key_env`."""

    engine: Literal["remote"]
    url: str = Field(pattern=r"^https?://")
    model: str = ""
    api_key_env: str | None = None
    context_length: int = Field(default=4096, ge=64)
    connect_timeout: float = Field(default=5.0, gt=0)
    read_timeout: float = Field(default=300.0, gt=0)

    def api_key(self) -> str | None:
        if self.api_key_env is None:
            return None
        value = os.environ.get(self.api_key_env)
        if not value:
            raise ConfigurationError(
                f"models config: the env var {self.api_key_env} (api_key_env of {self.url}) "
                "is not set"
            )
        return value


class VllmReplicaSpec(_Spec):
    """vLLM in this process on local GPUs; `model` is a HF model dir, repo id or GGUF."""

    engine: Literal["vllm"]
    model: str
    tokenizer: str | None = None
    tensor_parallel_size: int = Field(default=1, ge=1)
    pipeline_parallel_size: int = Field(default=1, ge=1)
    gpu_memory_utilization: float = Field(default=0.9, gt=0, le=1)
    max_model_len: int | None = Field(default=None, ge=64)
    dtype: str = "auto"
    quantization: str | None = None
    enforce_eager: bool = False


ReplicaSpec = Annotated[
    LocalReplicaSpec | RemoteReplicaSpec | VllmReplicaSpec, Field(discriminator="engine")
]


class ModelEntry(_Spec):
    id: str = Field(min_length=1)
    aliases: tuple[str, ...] = ()
    context_length: int | None = Field(default=None, ge=64)
    replicas: tuple[ReplicaSpec, ...] = Field(min_length=1)


class RouterSpec(_Spec):
    health_interval: float = Field(default=5.0, ge=0)
    max_attempts: int = Field(default=3, ge=1, le=16)
    affinity_slack: int = Field(default=4, ge=0)


class ModelsConfig(_Spec):
    models: tuple[ModelEntry, ...] = Field(min_length=1)
    router: RouterSpec = RouterSpec()

    @model_validator(mode="after")
    def _unique_ids(self) -> ModelsConfig:
        seen: set[str] = set()
        for entry in self.models:
            for name in (entry.id, *entry.aliases):
                if name.lower() in seen:
                    raise ValueError(f"model id '{name}' is listed twice")
                seen.add(name.lower())
        return self


def parse_models_config(data: dict[str, Any], where: str = "models config") -> ModelsConfig:
    try:
        return ModelsConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        at = f" at {loc}" if loc else ""
        raise ConfigurationError(f"{where}: invalid{at}: {first['msg']}") from exc


def load_models_config(path: Path) -> ModelsConfig:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise ConfigurationError(f"cannot read models config {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"models config {path} is not valid TOML: {exc}") from exc
    return parse_models_config(data, f"models config {path}")
