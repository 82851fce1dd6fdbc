"""Reciprocal rank fusion: the k=60 formula, agreement wins, ties keep first-seen order."""

from __future__ import annotations

import pytest

from causerie.rag.fusion import RRF_K, reciprocal_rank_fusion


def test_scores_follow_the_formula() -> None:
    fused = dict(reciprocal_rank_fusion([["a", "b", "c"], ["c", "a"]]))
    assert RRF_K == 60
    assert fused["a"] == pytest.approx(1 / 61 + 1 / 62)
    assert fused["b"] == pytest.approx(1 / 62)
    assert fused["c"] == pytest.approx(1 / 63 + 1 / 61)


def test_agreement_beats_one_first_place() -> None:
    lexical = ["x", "shared", "y"]
    dense = ["z", "shared"]
    assert reciprocal_rank_fusion([lexical, dense])[0][0] == "shared"


def test_ties_keep_first_seen_order_and_duplicates_count_once() -> None:
    fused = reciprocal_rank_fusion([["a", "b"], ["b", "a"]])
    assert [key for key, _ in fused] == ["a", "b"]
    assert fused[0][1] == fused[1][1]
    once = dict(reciprocal_rank_fusion([["a", "a", "b"]]))
    assert once["a"] == pytest.approx(1 / 61) and once["b"] == pytest.approx(1 / 63)


def test_empty_lists_and_custom_k() -> None:
    assert reciprocal_rank_fusion([]) == []
    assert reciprocal_rank_fusion([[], []]) == []
    assert reciprocal_rank_fusion([["only"]], k=0) == [("only", 1.0)]
    with pytest.raises(ValueError):
        reciprocal_rank_fusion([["a"]], k=-1)
