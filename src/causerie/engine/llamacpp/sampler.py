"""Per-request sampler chains built from `SamplingParams` with llama.cpp's samplers, and
OpenAI-style logprobs computed from the raw logits. A compiled grammar, when the request
has one, is applied before the chain (see `_Constrained`); requests without one keep the
single `llama_sampler_sample` call per token."""

from __future__ import annotations

import ctypes
import random
from typing import Any

import llama_cpp as lc
import numpy as np

from causerie.core.types import SamplingParams

PENALTY_LAST_N = 256
_FLOATS = ctypes.POINTER(ctypes.c_float)


class Sampler:
    """Owns one llama.cpp sampler chain; `sample` picks and accepts the next token."""

    def __init__(
        self, params: SamplingParams, n_vocab: int, banned: list[int], grammar: Any = None
    ) -> None:
        chain = lc.llama_sampler_chain_init(lc.llama_sampler_chain_default_params())
        self.chain = chain
        self._argmax: Argmax | None = None
        self.grammar: Any = grammar or None
        if self.grammar is not None:
            self._constrained = _Constrained(n_vocab)
        penalised = bool(
            params.repeat_penalty != 1.0 or params.frequency_penalty or params.presence_penalty
        )
        biases = [(tok, bias) for tok, bias in params.logit_bias if 0 <= tok < n_vocab]
        biases += [(tok, float("-inf")) for tok in banned]
        if biases:
            arr = (lc.llama_logit_bias * len(biases))(
                *(lc.llama_logit_bias(token=tok, bias=bias) for tok, bias in biases)
            )
            lc.llama_sampler_chain_add(
                chain, lc.llama_sampler_init_logit_bias(n_vocab, len(biases), arr)
            )
        if penalised:
            lc.llama_sampler_chain_add(
                chain,
                lc.llama_sampler_init_penalties(
                    PENALTY_LAST_N,
                    params.repeat_penalty,
                    params.frequency_penalty,
                    params.presence_penalty,
                ),
            )
        if params.temperature <= 0.0:
            lc.llama_sampler_chain_add(chain, lc.llama_sampler_init_greedy())
            if not penalised and self.grammar is None:
                self._argmax = Argmax(n_vocab, biases)
            return
        if params.top_k > 0:
            lc.llama_sampler_chain_add(chain, lc.llama_sampler_init_top_k(params.top_k))
        if params.top_p < 1.0:
            lc.llama_sampler_chain_add(chain, lc.llama_sampler_init_top_p(params.top_p, 1))
        if params.min_p > 0.0:
            lc.llama_sampler_chain_add(chain, lc.llama_sampler_init_min_p(params.min_p, 1))
        lc.llama_sampler_chain_add(chain, lc.llama_sampler_init_temp(params.temperature))
        seed = params.seed if params.seed is not None else random.getrandbits(32)
        lc.llama_sampler_chain_add(chain, lc.llama_sampler_init_dist(seed & 0xFFFFFFFF))

    def sample(self, ctx: Any, index: int) -> int:
        if self._argmax is not None:
            logits = ctypes.cast(lc.llama_get_logits_ith(ctx, index), _FLOATS)
            return self._argmax.pick(np.ctypeslib.as_array(logits, shape=(self._argmax.n_vocab,)))
        if self.grammar is None:
            return int(lc.llama_sampler_sample(self.chain, ctx, index))
        return self._constrained.sample(self.chain, self.grammar, ctx, index)

    def free(self) -> None:
        if self.chain:
            lc.llama_sampler_free(self.chain)
            self.chain = None
        if self.grammar is not None:
            lc.llama_sampler_free(self.grammar)
            self.grammar = None


class Argmax:
    """Greedy choice straight from the logits, the same token llama.cpp's logit-bias and
    greedy samplers would pick, without their copy of the whole vocabulary into a
    candidate array on every token. Biased tokens (`logit_bias`, end-of-generation tokens
    banned by `ignore_eos`) are few: they are compared on their own, and only when the
    plain argmax is one of them is the vocabulary copied and biased."""

    def __init__(self, n_vocab: int, biases: list[tuple[int, float]]) -> None:
        self.n_vocab = n_vocab
        merged: dict[int, float] = {}
        for token, bias in biases:  # llama.cpp adds every entry, repeats included
            merged[token] = merged.get(token, 0.0) + bias
        ids = sorted(merged)  # ties go to the lowest token id, as in llama.cpp
        self.ids = np.array(ids, dtype=np.int64)
        self.bias = np.array([merged[t] for t in ids], dtype=np.float32)
        self.biased = frozenset(ids)
        self.scratch = np.empty(n_vocab, dtype=np.float32) if ids else None

    def pick(self, logits: np.ndarray[Any, Any]) -> int:
        best = int(logits.argmax())
        if self.scratch is None:
            return best
        if best in self.biased:
            np.copyto(self.scratch, logits)
            self.scratch[self.ids] += self.bias
            return int(self.scratch.argmax())
        shifted = logits[self.ids] + self.bias
        j = int(shifted.argmax())
        top = logits[best]
        if shifted[j] > top or (shifted[j] == top and self.ids[j] < best):
            return int(self.ids[j])
        return best


class _Constrained:
    """Grammar-constrained sampling as llama.cpp's common sampler does it: sample freely,
    check the one token against the grammar, and only when it is rejected apply the
    grammar to the whole vocabulary (first) and sample again. Most tokens cost one check."""

    def __init__(self, n_vocab: int) -> None:
        self.n_vocab = n_vocab
        self.data = (lc.llama_token_data * n_vocab)()
        self.view = np.ctypeslib.as_array(self.data)
        self.view["id"] = np.arange(n_vocab, dtype=np.int32)
        self.one = (lc.llama_token_data * 1)()
        self.array = lc.llama_token_data_array(data=self.data, size=n_vocab, selected=-1)
        self.single = lc.llama_token_data_array(data=self.one, size=1, selected=-1)

    def _candidates(self, ctx: Any, index: int) -> Any:
        logits = np.ctypeslib.as_array(
            ctypes.cast(lc.llama_get_logits_ith(ctx, index), ctypes.POINTER(ctypes.c_float)),
            shape=(self.n_vocab,),
        )
        self.view["id"] = np.arange(self.n_vocab, dtype=np.int32)
        self.view["logit"] = logits
        self.view["p"] = 0.0
        self.array.size, self.array.selected, self.array.sorted = self.n_vocab, -1, False
        return ctypes.byref(self.array)

    def sample(self, chain: Any, grammar: Any, ctx: Any, index: int) -> int:
        ref = self._candidates(ctx, index)
        lc.llama_sampler_apply(chain, ref)
        token = int(self.data[self.array.selected].id)
        self.one[0] = lc.llama_token_data(id=token, logit=1.0, p=0.0)
        self.single.size, self.single.selected, self.single.sorted = 1, -1, False
        lc.llama_sampler_apply(grammar, ctypes.byref(self.single))
        if not np.isfinite(self.one[0].logit):
            ref = self._candidates(ctx, index)
            lc.llama_sampler_apply(grammar, ref)
            lc.llama_sampler_apply(chain, ref)
            token = int(self.data[self.array.selected].id)
        lc.llama_sampler_accept(grammar, token)
        lc.llama_sampler_accept(chain, token)
        return token


def logprobs_of(
    logits_ptr: Any, n_vocab: int, token: int, top: int
) -> tuple[float, list[int], list[float]]:
    """Log-probability of `token` under the raw distribution, and the `top` best tokens."""
    logits = np.ctypeslib.as_array(
        ctypes.cast(logits_ptr, ctypes.POINTER(ctypes.c_float)), shape=(n_vocab,)
    ).astype(np.float64)
    shift = logits.max()
    logsum = shift + np.log(np.exp(logits - shift).sum())
    chosen = float(logits[token] - logsum)
    if top <= 0:
        return chosen, [], []
    best = np.argpartition(-logits, top)[:top]
    best = best[np.argsort(-logits[best])]
    return chosen, [int(t) for t in best], [float(logits[t] - logsum) for t in best]
