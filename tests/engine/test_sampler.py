"""The greedy fast path picks exactly what llama.cpp's logit-bias + greedy chain picks:
the biases added to a copy of the logits, then the first maximum."""

from __future__ import annotations

import numpy as np
import pytest

from causerie.engine.llamacpp.sampler import Argmax


def reference(logits: np.ndarray, biases: list[tuple[int, float]]) -> int:
    biased = logits.copy()
    for token, bias in biases:
        biased[token] += bias
    return int(biased.argmax())


@pytest.mark.parametrize("seed", range(40))
def test_argmax_matches_biasing_a_copy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 500
    logits = rng.normal(size=n).astype(np.float32)
    logits[rng.integers(n, size=3)] = logits.max()  # ties with the maximum
    tokens = rng.choice(n, size=6, replace=False).tolist()
    tokens.append(int(logits.argmax()))  # the plain winner is often biased itself
    biases = [(int(t), float(rng.choice([-np.inf, -100.0, -0.5, 0.0, 0.5, 100.0]))) for t in tokens]
    biases.append(biases[0])  # a repeated entry counts twice
    assert Argmax(n, biases).pick(logits) == reference(logits, biases)


def test_banned_winner_falls_to_the_next_token() -> None:
    logits = np.array([0.0, 3.0, 2.0, 2.0], dtype=np.float32)
    assert Argmax(4, [(1, float("-inf"))]).pick(logits) == 2
    assert Argmax(4, []).pick(logits) == 1


def test_a_bias_can_lift_a_token_to_the_top_and_ties_go_to_the_lower_id() -> None:
    logits = np.array([1.0, 3.0, 2.0], dtype=np.float32)
    assert Argmax(3, [(2, 1.5)]).pick(logits) == 2
    assert Argmax(3, [(2, 1.0)]).pick(logits) == 1  # 3.0 == 3.0: token 1 comes first
    assert Argmax(3, [(0, 2.0)]).pick(logits) == 0  # 3.0 == 3.0: token 0 comes first
