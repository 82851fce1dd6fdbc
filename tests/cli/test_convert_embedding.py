"""`causerie convert-embedding` and `serve --embedding-model` as a user runs them."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np

from causerie.engine.embedding_models import MINILM_ID, minilm_source
from causerie.engine.gguf import read_metadata
from causerie.engine.llamacpp.embedder import LlamaEmbedder
from tests.cli.test_cli import causerie
from tests.conftest import API_KEY, start_server, stop_server


def test_convert_embedding_writes_a_loadable_f16_gguf(tmp_path: Path, minilm_gguf: Path) -> None:
    out = tmp_path / "minilm-f16.gguf"
    result = causerie("convert-embedding", str(minilm_source()), str(out), "--f16")
    assert result.returncode == 0, result.stderr
    assert "wrote" in result.stdout and out.is_file()
    meta = read_metadata(out)
    assert meta["general.architecture"] == "bert" and meta["general.file_type"] == 1  # F16
    assert not list(tmp_path.glob("*.part"))
    assert out.stat().st_size < 0.6 * minilm_gguf.stat().st_size
    half, full = LlamaEmbedder(out, "half"), LlamaEmbedder(minilm_gguf, "full")
    half.load()
    full.load()
    texts = ["A cat sits on the mat.", "Revenue grew ten percent."]
    assert np.abs(half.embed_sync(texts).vectors - full.embed_sync(texts).vectors).max() < 1e-2
    bad = causerie("convert-embedding", str(tmp_path), str(tmp_path / "x.gguf"))
    assert bad.returncode != 0 and "Traceback" not in bad.stderr + bad.stdout


def test_serve_with_minilm_converts_once_and_serves_embeddings(tmp_path: Path) -> None:
    srv = start_server(tmp_path, "--ctx-size", "512", "--parallel", "1",
                       "--embedding-model", "minilm", api_key=API_KEY)  # fmt: skip
    try:
        r = httpx.post(
            srv.v1 + "/embeddings",
            json={"model": MINILM_ID, "input": ["hello", "world"]},
            headers={"Authorization": f"Bearer {API_KEY}"},
        )
        assert r.status_code == 200, r.text
        assert [len(d["embedding"]) for d in r.json()["data"]] == [384, 384]
    finally:
        stop_server(srv)
    assert len(list((tmp_path / "models").glob("all-minilm-l6-v2-*.gguf"))) == 1
