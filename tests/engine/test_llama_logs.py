"""llama.cpp's log reaches Python logging at error level only: a real error (a file it
cannot load) is logged; its warnings (an encoder's context above its training length) are
not shown to operators as errors."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from causerie.core.errors import ModelLoadError
from causerie.engine.embedding_models import MINILM_ID
from causerie.engine.llamacpp.embedder import LlamaEmbedder
from causerie.engine.llamacpp.model import LlamaRuntime, RuntimeConfig


def llama_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "causerie.engine" and r.levelno >= logging.ERROR
    ]


def test_a_warning_is_not_logged_as_an_error(
    minilm_gguf: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="causerie.engine")
    embedder = LlamaEmbedder(minilm_gguf, MINILM_ID, threads=1)
    embedder.load()  # its 2048-token context is above the model's 512: a llama.cpp warning
    assert embedder.dimensions == 384
    assert llama_errors(caplog) == []


def test_an_error_is_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="causerie.engine")
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\x03\x00\x00\x00" + b"\xff" * 64)
    with pytest.raises(ModelLoadError):
        LlamaRuntime(RuntimeConfig(broken, n_ctx_seq=256, n_seq_max=1, n_batch=64, n_threads=1))
    assert any("llama.cpp:" in m for m in llama_errors(caplog))
