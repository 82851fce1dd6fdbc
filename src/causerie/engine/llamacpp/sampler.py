"""Per-request sampler chains built from `SamplingParams` with llama.cpp's samplers, and
OpenAI-style logprobs computed from the raw logits."""

from __future__ import annotations

import ctypes
import random
from typing import Any

import llama_cpp as lc
import numpy as np

from causerie.core.types import SamplingParams

PENALTY_LAST_N = 256


class Sampler:
    """Owns one llama.cpp sampler chain; `sample` picks and accepts the next token."""

    def __init__(self, params: SamplingParams, n_vocab: int, banned: list[int]) -> None:
        chain = lc.llama_sampler_chain_init(lc.llama_sampler_chain_default_params())
        self.chain = chain
        biases = [(tok, bias) for tok, bias in params.logit_bias if 0 <= tok < n_vocab]
        biases += [(tok, float("-inf")) for tok in banned]
        if biases:
            arr = (lc.llama_logit_bias * len(biases))(
                *(lc.llama_logit_bias(token=tok, bias=bias) for tok, bias in biases)
            )
            lc.llama_sampler_chain_add(
                chain, lc.llama_sampler_init_logit_bias(n_vocab, len(biases), arr)
            )
        if params.repeat_penalty != 1.0 or params.frequency_penalty or params.presence_penalty:
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
        return int(lc.llama_sampler_sample(self.chain, ctx, index))

    def free(self) -> None:
        if self.chain:
            lc.llama_sampler_free(self.chain)
            self.chain = None


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
