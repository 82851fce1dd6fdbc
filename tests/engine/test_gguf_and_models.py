"""The GGUF metadata reader and the model catalogue, on the real bundled file and on
broken copies of it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from causerie.core.errors import ModelLoadError
from causerie.engine.gguf import read_metadata
from causerie.engine.models import ModelCatalogue, bundled_model_path, inspect_model


def test_bundled_model_is_found_and_described(model_path: Path) -> None:
    assert model_path == bundled_model_path()
    assert model_path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    spec = inspect_model(model_path, bundled=True)
    assert spec.id == "smollm2-135m"
    assert spec.architecture == "llama"
    assert spec.context_length == 8192
    assert spec.chat_template is not None and "<|im_start|>" in spec.chat_template
    assert spec.bos_token == "<|im_start|>" and spec.eos_token == "<|im_end|>"
    assert "SmolLM2-135M-Instruct.Q4_1" in spec.aliases
    assert spec.kv_bytes_per_token > 0


def test_metadata_reader_reads_header_only(model_path: Path) -> None:
    meta = read_metadata(model_path)
    assert meta["general.architecture"] == "llama"
    assert len(meta["tokenizer.ggml.tokens"]) == 49152
    assert meta["tokenizer.ggml.merges"] is None  # big arrays are skipped


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not a GGUF"),
        (b"PK\x03\x04 this is a zip", "not a GGUF"),
        (b"GGUF\x03\x00\x00\x00" + b"\x00" * 4, "truncated"),
        (b"GGUF\x63\x00\x00\x00" + b"\x00" * 16, "unsupported GGUF version"),
    ],
)
def test_broken_files_raise_model_load_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "broken.gguf"
    path.write_bytes(content)
    with pytest.raises(ModelLoadError, match=message):
        inspect_model(path)


def test_truncated_copy_of_real_model(tmp_path: Path, model_path: Path) -> None:
    path = tmp_path / "cut.gguf"
    path.write_bytes(model_path.read_bytes()[:100_000])
    with pytest.raises(ModelLoadError, match="truncated|corrupt"):
        inspect_model(path)


def test_missing_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="not found"):
        inspect_model(tmp_path / "nope.gguf")
    with pytest.raises(ModelLoadError, match="directory"):
        inspect_model(tmp_path)


def test_catalogue_resolves_bundled_files_and_paths(tmp_path: Path, model_path: Path) -> None:
    models = tmp_path / "models"
    (models / "team").mkdir(parents=True)
    copy = models / "team" / "my-model.gguf"
    shutil.copy(model_path, copy)
    (models / "junk.gguf").write_bytes(b"junk")
    catalogue = ModelCatalogue(models)
    specs, problems = catalogue.available()
    assert specs[0].bundled and specs[0].id == "smollm2-135m"
    assert specs[1].path == copy and specs[1].id == "my-model"  # same id as bundled: renamed
    assert len(problems) == 1 and "junk.gguf" in problems[0]
    assert catalogue.resolve(None).bundled
    assert catalogue.resolve("smollm2-135m").bundled
    assert catalogue.resolve("SmolLM2-135M-Instruct.Q4_1").bundled
    assert catalogue.resolve("my-model").path == copy
    assert catalogue.resolve(str(copy)).path == copy
    with pytest.raises(ModelLoadError, match="unknown model 'other'"):
        catalogue.resolve("other")
    with pytest.raises(ModelLoadError, match="not found"):
        catalogue.resolve(str(tmp_path / "missing.gguf"))
