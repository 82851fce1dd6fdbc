"""`LlamaEmbedder`: text embeddings from a GGUF embedding model through llama.cpp.

It owns its own model and context (embeddings on, the pooling the GGUF names, mean when
it names none) and packs several inputs into one batch, each its own sequence. A lock
makes it safe from any thread; `embed` runs it off the event loop. An input longer than
the model's context is an error, never cut short, unless the caller asks (`truncate`).
"""

from __future__ import annotations

import asyncio
import ctypes
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import llama_cpp as lc
import numpy as np
import numpy.typing as npt

from causerie.core.errors import (
    ContextLengthExceededError,
    EngineError,
    InvalidRequestError,
    ModelLoadError,
)
from causerie.core.types import ModelInfo
from causerie.engine.base import EmbeddingInput, Embeddings
from causerie.engine.llamacpp.model import _install_log_callback
from causerie.engine.llamacpp.unicode import utf8

POOLING_NONE, POOLING_MEAN = 0, 1
MAX_SEQUENCES = 64  # inputs per batch at most (llama.cpp allows 256)


class LlamaEmbedder:
    def __init__(
        self, path: Path, model_id: str, *, batch_tokens: int = 2048, threads: int = 1
    ) -> None:
        self.path, self.model_id = path, model_id
        self.batch_tokens, self.threads = batch_tokens, threads
        self._lock = threading.Lock()
        self._model: Any = None
        self._ctx: Any = None
        self._vocab: Any = None
        self._n_ctx = 0
        self._n_embd = 0
        self._n_vocab = 0
        self._capacity = 0

    # --- lifecycle ----------------------------------------------------------------------
    def load(self) -> None:
        """Load the model now (idempotent); raises `ModelLoadError` if llama.cpp refuses."""
        with self._lock:
            if self._ctx is not None:
                return
            _install_log_callback()
            lc.llama_backend_init()
            mparams = lc.llama_model_default_params()
            mparams.n_gpu_layers = 0
            model = lc.llama_model_load_from_file(str(self.path).encode(), mparams)
            if not model:
                raise ModelLoadError(
                    f"llama.cpp could not load {self.path} (corrupt or unsupported)"
                )
            self._model = model
            self._vocab = lc.llama_model_get_vocab(model)
            self._n_vocab = lc.llama_vocab_n_tokens(self._vocab)
            self._n_ctx = lc.llama_model_n_ctx_train(model)
            self._n_embd = lc.llama_model_n_embd(model)
            self._capacity = max(self.batch_tokens, self._n_ctx)
            ctx = self._new_context(pooling=-1)
            if ctx and lc.llama_pooling_type(ctx) == POOLING_NONE:
                lc.llama_free(ctx)
                ctx = self._new_context(pooling=POOLING_MEAN)
            if not ctx:
                lc.llama_model_free(model)
                self._model = None
                raise ModelLoadError(
                    f"llama.cpp could not create an embedding context for {self.path}"
                )
            self._ctx = ctx

    def _new_context(self, pooling: int) -> Any:
        cparams = lc.llama_context_default_params()
        cparams.n_ctx = self._capacity
        cparams.n_batch = self._capacity
        cparams.n_ubatch = self._capacity  # an encoder reads a whole batch at once
        cparams.n_seq_max = MAX_SEQUENCES
        cparams.n_threads = self.threads
        cparams.n_threads_batch = self.threads
        cparams.embeddings = True
        cparams.pooling_type = pooling
        cparams.kv_unified = True
        cparams.no_perf = True
        return lc.llama_init_from_model(self._model, cparams)

    async def start(self) -> None:
        await asyncio.to_thread(self.load)

    async def close(self) -> None:
        with self._lock:
            if self._ctx is not None:
                lc.llama_free(self._ctx)
                self._ctx = None
            if self._model is not None:
                lc.llama_model_free(self._model)
                self._model = None

    # --- facts --------------------------------------------------------------------------
    @property
    def info(self) -> ModelInfo:
        self._require()
        return ModelInfo(
            id=self.model_id, context_length=self._n_ctx, architecture="embedding",
            path=str(self.path),
        )  # fmt: skip

    @property
    def dimensions(self) -> int:
        self._require()
        return self._n_embd

    def _require(self) -> None:
        if self._ctx is None:
            raise RuntimeError("the embedding model is not loaded (call start() or load())")

    # --- tokens -------------------------------------------------------------------------
    def tokenize(self, text: str) -> list[int]:
        """`text`'s tokens with the model's own markers ([CLS] … [SEP] for BERT)."""
        self._require()
        data = utf8(text, "input")
        capacity = len(data) + 8
        buf = (lc.llama_token * capacity)()
        n = lc.llama_tokenize(self._vocab, data, len(data), buf, capacity, True, False)
        if n < 0:
            capacity = -n
            buf = (lc.llama_token * capacity)()
            n = lc.llama_tokenize(self._vocab, data, len(data), buf, capacity, True, False)
        return list(buf[:n])

    def _tokens(self, inputs: Sequence[EmbeddingInput], truncate: bool) -> list[list[int]]:
        if not inputs:
            raise InvalidRequestError("input must not be empty", param="input")
        out: list[list[int]] = []
        for index, item in enumerate(inputs):
            if isinstance(item, str):
                if not item:
                    raise InvalidRequestError(f"input[{index}] is empty", param="input")
                tokens = self.tokenize(item)
            else:
                tokens = [int(t) for t in item]
                if any(t < 0 or t >= self._n_vocab for t in tokens):
                    raise InvalidRequestError(
                        f"input[{index}] holds a token id outside 0..{self._n_vocab - 1}",
                        param="input",
                    )
            if not tokens:
                raise InvalidRequestError(f"input[{index}] is empty", param="input")
            if len(tokens) > self._n_ctx:
                if not truncate:
                    raise ContextLengthExceededError(
                        f"input[{index}] has {len(tokens)} tokens; this embedding model reads "
                        f"at most {self._n_ctx}",
                        param="input",
                    )
                tokens = [*tokens[: self._n_ctx - 1], tokens[-1]]  # keep the end marker
            out.append(tokens)
        return out

    # --- embeddings ---------------------------------------------------------------------
    def embed_sync(self, inputs: Sequence[EmbeddingInput], *, truncate: bool = False) -> Embeddings:
        """Every input is tokenized (and checked) first; the model is then held one batch
        at a time, so that other callers (the indexer, an API request) take turns with a
        large request instead of waiting for all of it."""
        with self._lock:
            self._require()
            sequences = self._tokens(inputs, truncate)
        vectors = np.empty((len(sequences), self._n_embd), dtype=np.float32)
        batch = lc.llama_batch_init(self._capacity, 0, 1)
        try:
            start = 0
            while start < len(sequences):
                end, used = start, 0
                while (
                    end < len(sequences)
                    and end - start < MAX_SEQUENCES
                    and used + len(sequences[end]) <= self._capacity
                ):
                    used += len(sequences[end])
                    end += 1
                with self._lock:
                    self._require()
                    self._encode(batch, sequences[start:end], vectors[start:end])
                start = end
        finally:
            lc.llama_batch_free(batch)
        return Embeddings(vectors=vectors, tokens=sum(len(s) for s in sequences))

    def _encode(self, batch: Any, sequences: list[list[int]], out: npt.NDArray[np.float32]) -> None:
        n = 0
        for seq_id, tokens in enumerate(sequences):
            for pos, token in enumerate(tokens):
                batch.token[n] = token
                batch.pos[n] = pos
                batch.n_seq_id[n] = 1
                batch.seq_id[n][0] = seq_id
                batch.logits[n] = True
                n += 1
        batch.n_tokens = n
        memory = lc.llama_get_memory(self._ctx)
        if memory:
            lc.llama_memory_clear(memory, True)  # a decoder-based embedder: start afresh
        if lc.llama_encode(self._ctx, batch) != 0:
            raise EngineError(f"llama.cpp could not encode with {self.path}")
        for seq_id in range(len(sequences)):
            pointer = lc.llama_get_embeddings_seq(self._ctx, seq_id)
            if not pointer:
                raise EngineError(f"{self.path} gave no pooled embedding")
            row = np.ctypeslib.as_array(
                ctypes.cast(pointer, ctypes.POINTER(ctypes.c_float)), shape=(self._n_embd,)
            ).astype(np.float32)
            norm = float(np.linalg.norm(row))
            out[seq_id] = row / norm if norm > 0 else row

    async def embed(
        self, inputs: Sequence[EmbeddingInput], *, truncate: bool = False
    ) -> Embeddings:
        return await asyncio.to_thread(self.embed_sync, inputs, truncate=truncate)
