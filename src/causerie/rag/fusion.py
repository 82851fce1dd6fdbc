"""Reciprocal rank fusion (Cormack et al., 2009): one ranking from several.

Each list gives every key it ranks 1 / (k + rank), ranks from 1; scores add up across
lists. Pure and deterministic: ties keep the order in which keys were first seen.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypeVar

K = TypeVar("K", bound=Hashable)
RRF_K = 60


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[K]], k: int = RRF_K
) -> list[tuple[K, float]]:
    """(key, fused score) best first; a key repeated within one list counts once there."""
    if k < 0:
        raise ValueError("k must be >= 0")
    scores: dict[K, float] = {}
    for ranking in rankings:
        seen: set[K] = set()
        for rank, key in enumerate(ranking, start=1):
            if key in seen:
                continue
            seen.add(key)
            scores[key] = scores.get(key, 0.0) + 1.0 / (k + rank)
    order = {key: i for i, key in enumerate(scores)}
    return sorted(scores.items(), key=lambda item: (-item[1], order[item[0]]))
