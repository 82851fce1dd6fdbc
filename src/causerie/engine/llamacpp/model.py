"""A thin, typed wrapper over llama.cpp's model/context C API (via llama-cpp-python).

`LlamaRuntime` owns one model and one context with `n_seq_max` sequences. Only the decode
thread calls the mutating methods (`decode`, `seq_*`, `state_*`); tokenization is pure and
may be called from any thread.
"""

from __future__ import annotations

import ctypes
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import llama_cpp as lc

from causerie.core.errors import ModelLoadError
from causerie.engine.llamacpp.unicode import utf8
from causerie.engine.templates import control_pattern

log = logging.getLogger("causerie.engine")
_LOG_CALLBACK: Any = None
GGML_LOG_LEVEL_ERROR = 4  # ggml.h: NONE 0, DEBUG 1, INFO 2, WARN 3, ERROR 4, CONT 5


def _install_log_callback() -> None:
    """Route llama.cpp's errors to Python logging (its warnings and chatter stay quiet)."""
    global _LOG_CALLBACK
    if _LOG_CALLBACK is not None:
        return

    @lc.llama_log_callback  # type: ignore[untyped-decorator]
    def _callback(level: int, text: bytes, _user: ctypes.c_void_p) -> None:
        if level == GGML_LOG_LEVEL_ERROR:
            log.error("llama.cpp: %s", text.decode("utf-8", "replace").rstrip())

    _LOG_CALLBACK = _callback
    lc.llama_log_set(_callback, ctypes.c_void_p(0))


@dataclass(frozen=True)
class RuntimeConfig:
    path: Path
    n_ctx_seq: int
    n_seq_max: int
    n_batch: int
    n_threads: int


class LlamaRuntime:
    """One loaded model + context. Raises `ModelLoadError` if llama.cpp refuses the file."""

    def __init__(self, config: RuntimeConfig) -> None:
        _install_log_callback()
        lc.llama_backend_init()
        self.config = config
        mparams = lc.llama_model_default_params()
        mparams.n_gpu_layers = 0
        model = lc.llama_model_load_from_file(str(config.path).encode(), mparams)
        if not model:
            raise ModelLoadError(f"llama.cpp could not load {config.path} (corrupt or unsupported)")
        self.model = model
        self.vocab = lc.llama_model_get_vocab(model)
        self.n_vocab = lc.llama_vocab_n_tokens(self.vocab)
        self.n_ctx_train = lc.llama_model_n_ctx_train(model)
        cparams = lc.llama_context_default_params()
        cparams.n_ctx = config.n_ctx_seq * config.n_seq_max
        cparams.n_batch = config.n_batch
        cparams.n_ubatch = config.n_batch
        cparams.n_seq_max = config.n_seq_max
        cparams.n_threads = config.n_threads
        cparams.n_threads_batch = config.n_threads
        # one KV stream per slot: a sequence attends over its own cells only, where with a
        # unified buffer every decode and prefill also spans the cells of the idle
        # conversations kept in cache (turn-10 TTFT of 4 conversations 592 ms vs 377 ms).
        # Per-slot streams need batch rows in slot order (see Scheduler._step); with them,
        # 8 streams decode faster too (bench: 278 vs 262 tok/s in-process, side by side).
        cparams.kv_unified = False
        cparams.no_perf = True
        ctx = lc.llama_init_from_model(model, cparams)
        if not ctx:
            lc.llama_model_free(model)
            raise ModelLoadError(
                f"llama.cpp could not create a context of {cparams.n_ctx} tokens for "
                f"{config.path} (too little memory? lower --ctx-size or --parallel)"
            )
        self.ctx = ctx
        self.memory = lc.llama_get_memory(ctx)
        self.add_bos = bool(lc.llama_vocab_get_add_bos(self.vocab))
        self.bos = int(lc.llama_vocab_bos(self.vocab))
        self._pieces: dict[int, bytes] = {}
        self._piece_buf = ctypes.create_string_buffer(256)
        self.control_texts = self._control_texts()
        # finds message text that spells a control token (see prompt.py)
        self.controls = control_pattern(self.control_texts)
        # no token spells more bytes than this: a text of n characters is >= n / it tokens
        longest = max(len(self.piece(t)) for t in range(self.n_vocab))
        self.max_piece_bytes = max(1, longest, *(len(t.encode()) for t in self.control_texts))

    # --- tokens -----------------------------------------------------------------------
    def tokenize(
        self, text: str, *, add_special: bool, parse_special: bool, param: str | None = None
    ) -> list[int]:
        """`text`'s tokens; a lone surrogate in it is an `InvalidRequestError` on `param`."""
        data = utf8(text, param)
        capacity = len(data) + 8
        buf = (lc.llama_token * capacity)()
        n = lc.llama_tokenize(
            self.vocab, data, len(data), buf, capacity, add_special, parse_special
        )
        if n < 0:
            capacity = -n
            buf = (lc.llama_token * capacity)()
            n = lc.llama_tokenize(
                self.vocab, data, len(data), buf, capacity, add_special, parse_special
            )
        tokens = list(buf[:n])
        if len(tokens) > 1 and tokens[0] == tokens[1] == self.bos and self.add_bos:
            tokens.pop(0)  # the template already wrote BOS
        return tokens

    def piece(self, token: int) -> bytes:
        """The bytes of one token (special tokens rendered as their text)."""
        cached = self._pieces.get(token)
        if cached is not None:
            return cached
        n = lc.llama_token_to_piece(self.vocab, token, self._piece_buf, 256, 0, False)
        data = self._piece_buf.raw[:n] if n > 0 else b""
        self._pieces[token] = data
        return data

    def _control_texts(self) -> tuple[str, ...]:
        """How the control tokens are spelled ("<|im_start|>"): with special-token parsing,
        text that spells one becomes that token."""
        special = lc.LLAMA_TOKEN_ATTR_CONTROL | lc.LLAMA_TOKEN_ATTR_USER_DEFINED
        buf = ctypes.create_string_buffer(256)
        texts = set()
        for token in range(self.n_vocab):
            if lc.llama_vocab_get_attr(self.vocab, token) & special:
                n = lc.llama_token_to_piece(self.vocab, token, buf, 256, 0, True)
                text = buf.raw[: max(n, 0)].decode("utf-8", "replace")
                if len(text) > 1:
                    texts.add(text)
        return tuple(sorted(texts, key=lambda t: (-len(t), t)))

    def is_eog(self, token: int) -> bool:
        return bool(lc.llama_vocab_is_eog(self.vocab, token))

    def eog_tokens(self) -> list[int]:
        return [t for t in range(self.n_vocab) if self.is_eog(t)]

    # --- sequences (decode thread only) ---------------------------------------------------
    def seq_rm(self, seq_id: int, start: int, end: int = -1) -> bool:
        return bool(lc.llama_memory_seq_rm(self.memory, seq_id, start, end))

    def seq_clear(self, seq_id: int) -> None:
        lc.llama_memory_seq_rm(self.memory, seq_id, -1, -1)

    def state_get(self, seq_id: int) -> bytearray:
        size = lc.llama_state_seq_get_size(self.ctx, seq_id)
        data = bytearray(size)
        view = (ctypes.c_uint8 * size).from_buffer(data)  # llama.cpp writes straight into it
        written = lc.llama_state_seq_get_data(self.ctx, view, size, seq_id)
        del view  # releases the buffer so that it can be cut to size
        del data[written:]
        return data

    def state_set(self, seq_id: int, data: bytearray) -> bool:
        view = (ctypes.c_uint8 * len(data)).from_buffer(data)  # no copy
        return bool(lc.llama_state_seq_set_data(self.ctx, view, len(data), seq_id))

    def seq_copy(self, src: int, dst: int) -> bool:
        """Make `dst` hold a copy of `src`'s cache. Each slot has its own KV stream, which
        llama.cpp can only copy whole, so this goes through the state API: far cheaper
        than a prefill of the same tokens."""
        data = self.state_get(src)
        self.seq_clear(dst)
        return bool(data) and self.state_set(dst, data)

    def decode(self, batch: Any) -> int:
        return int(lc.llama_decode(self.ctx, batch))

    def logits(self, index: int) -> Any:
        """Pointer to the logits of output row `index` of the last decode."""
        return lc.llama_get_logits_ith(self.ctx, index)

    def close(self) -> None:
        if getattr(self, "ctx", None):
            lc.llama_free(self.ctx)
            self.ctx = None
        if getattr(self, "model", None):
            lc.llama_model_free(self.model)
            self.model = None
