"""The BERT -> GGUF converter and the llama.cpp embedder on the real all-MiniLM-L6-v2:
vectors checked against a numpy forward pass of the safetensors weights."""

from __future__ import annotations

import math
import threading
from pathlib import Path

import numpy as np
import pytest

from causerie.core.errors import ConfigurationError, ContextLengthExceededError, InvalidRequestError
from causerie.engine.embedding_models import (
    MINILM,
    MINILM_ID,
    content_hash,
    minilm_source,
    resolve_embedding_model,
)
from causerie.engine.gguf import read_metadata
from causerie.engine.llamacpp.embedder import LlamaEmbedder

SENTENCES = [
    "A cat sits on the mat.",
    "A kitten is resting on a rug.",
    "Quarterly revenue grew by ten percent.",
    "The company's sales rose sharply this year.",
]


@pytest.fixture(scope="module")
def embedder(minilm_gguf: Path) -> LlamaEmbedder:
    model = LlamaEmbedder(minilm_gguf, MINILM_ID, threads=2)
    model.load()
    return model


def reference(tokens: list[int]) -> np.ndarray:
    """Mean-pooled, normalised all-MiniLM-L6-v2 in float64 numpy, from the safetensors."""
    from safetensors.numpy import load_file

    w = {
        k: v.astype(np.float64)
        for k, v in load_file(str(minilm_source() / "model.safetensors")).items()
    }
    erf = np.vectorize(math.erf)

    def norm(x: np.ndarray, name: str) -> np.ndarray:
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + 1e-12) * w[name + ".weight"] + w[name + ".bias"]

    n = len(tokens)
    x = (
        w["embeddings.word_embeddings.weight"][tokens]
        + w["embeddings.position_embeddings.weight"][:n]
    )
    x = norm(x + w["embeddings.token_type_embeddings.weight"][0], "embeddings.LayerNorm")
    for layer in range(6):
        p = f"encoder.layer.{layer}."

        def linear(v: np.ndarray, name: str, p: str = p) -> np.ndarray:
            return v @ w[p + name + ".weight"].T + w[p + name + ".bias"]

        q, k, v = (
            linear(x, f"attention.self.{part}").reshape(n, 12, 32).transpose(1, 0, 2)
            for part in ("query", "key", "value")
        )
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(32)
        attn = np.exp(scores - scores.max(-1, keepdims=True))
        attn /= attn.sum(-1, keepdims=True)
        out = (attn @ v).transpose(1, 0, 2).reshape(n, 384)
        x = norm(linear(out, "attention.output.dense") + x, p + "attention.output.LayerNorm")
        hidden = linear(x, "intermediate.dense")
        hidden = 0.5 * hidden * (1 + erf(hidden / math.sqrt(2)))
        x = norm(linear(hidden, "output.dense") + x, p + "output.LayerNorm")
    pooled = x.mean(0)
    return pooled / np.linalg.norm(pooled)


def test_converted_file_is_a_bert_with_mean_pooling(minilm_gguf: Path) -> None:
    meta = read_metadata(minilm_gguf)
    assert meta["general.architecture"] == "bert"
    assert meta["bert.pooling_type"] == 1  # mean
    assert meta["bert.embedding_length"] == 384 and meta["bert.context_length"] == 512
    assert meta["tokenizer.ggml.model"] == "bert"


def test_vectors_match_a_numpy_forward_pass(embedder: LlamaEmbedder) -> None:
    assert embedder.dimensions == 384 and embedder.info.context_length == 512
    tokens = embedder.tokenize("Hello world, unaffordable Crème!")
    assert tokens[0] == 101 and tokens[-1] == 102  # [CLS] … [SEP]
    assert tokens[1:3] == [7592, 2088]  # "hello", "world": lower-cased WordPiece
    found = embedder.embed_sync(SENTENCES)
    assert found.vectors.shape == (4, 384) and found.vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(found.vectors, axis=1), 1, atol=1e-5)
    assert found.tokens == sum(len(embedder.tokenize(s)) for s in SENTENCES)
    for sentence, vector in zip(SENTENCES, found.vectors, strict=True):
        assert np.abs(reference(embedder.tokenize(sentence)) - vector).max() < 1e-3


def test_related_sentences_score_higher(embedder: LlamaEmbedder) -> None:
    v = embedder.embed_sync(SENTENCES).vectors
    sim = v @ v.T
    assert sim[0, 1] > 0.5 and sim[2, 3] > 0.4
    assert max(sim[0, 2], sim[0, 3], sim[1, 2], sim[1, 3]) < 0.2


def test_batches_tokens_and_threads_agree(embedder: LlamaEmbedder) -> None:
    alone = np.stack([embedder.embed_sync([s]).vectors[0] for s in SENTENCES])
    together = embedder.embed_sync(SENTENCES * 40).vectors  # several batches
    assert np.abs(together[:4] - alone).max() < 1e-4
    assert np.abs(together[-4:] - alone).max() < 1e-4
    by_ids = embedder.embed_sync([embedder.tokenize(SENTENCES[0])]).vectors[0]
    assert np.abs(by_ids - alone[0]).max() < 1e-5
    results: list[np.ndarray] = []

    def work() -> None:
        results.append(embedder.embed_sync(SENTENCES).vectors)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and all(np.abs(r - alone).max() < 1e-4 for r in results)


def test_too_long_empty_and_bad_tokens_are_errors(embedder: LlamaEmbedder) -> None:
    long = "word " * 600
    with pytest.raises(ContextLengthExceededError) as exc:
        embedder.embed_sync(["short", long])
    assert exc.value.param == "input" and "input[1]" in exc.value.message
    cut = embedder.embed_sync([long], truncate=True)
    assert cut.tokens == 512 and cut.vectors.shape == (1, 384)
    for bad in ([], [""], [[]], [[embedder._n_vocab]], [[-1]]):
        with pytest.raises(InvalidRequestError):
            embedder.embed_sync(bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError, match="lone surrogate") as surrogate:
        embedder.embed_sync(["fine", "not \udc80 fine"])
    assert surrogate.value.param == "input"


def test_minilm_is_converted_once_by_content(tmp_path: Path) -> None:
    first = resolve_embedding_model(MINILM, tmp_path)
    assert first.id == MINILM_ID and content_hash(minilm_source()) in first.path.name
    stamp = first.path.stat().st_mtime_ns
    again = resolve_embedding_model(MINILM, tmp_path)
    assert again.path == first.path and again.path.stat().st_mtime_ns == stamp
    assert resolve_embedding_model(str(first.path), tmp_path).path == first.path
    with pytest.raises(ConfigurationError):
        resolve_embedding_model(str(tmp_path / "missing.gguf"), tmp_path)
    with pytest.raises(ConfigurationError, match="not a BERT"):
        (tmp_path / "gpt").mkdir()
        (tmp_path / "gpt" / "config.json").write_text('{"model_type": "gpt2"}')
        resolve_embedding_model(str(tmp_path / "gpt"), tmp_path)
