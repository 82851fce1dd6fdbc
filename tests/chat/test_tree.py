"""The message tree: active path, siblings and branch switching (pure functions)."""

from __future__ import annotations

from dataclasses import dataclass

from causerie.chat.tree import children_of, deepest_latest, path_to


@dataclass
class N:
    id: str
    parent_id: str | None


#   u1 ─ a1 ─ u2 ─ a2
#      └ a1b      └ a2b ─ u3
#   u1b (an edited first message)
NODES = [
    N("u1", None), N("a1", "u1"), N("u2", "a1"), N("a2", "u2"), N("a1b", "u1"),
    N("a2b", "u2"), N("u3", "a2b"), N("u1b", None),
]  # fmt: skip


def test_path_to_a_leaf() -> None:
    assert [n.id for n in path_to(NODES, "u3")] == ["u1", "a1", "u2", "a2b", "u3"]
    assert [n.id for n in path_to(NODES, "a1b")] == ["u1", "a1b"]
    assert path_to(NODES, None) == [] and path_to(NODES, "missing") == []


def test_siblings_in_creation_order() -> None:
    kids = children_of(NODES)
    assert [n.id for n in kids[None]] == ["u1", "u1b"]
    assert [n.id for n in kids["u1"]] == ["a1", "a1b"]
    assert [n.id for n in kids["u2"]] == ["a2", "a2b"]


def test_switch_goes_down_to_the_latest_leaf() -> None:
    assert deepest_latest(NODES, "a1") == "u3"
    assert deepest_latest(NODES, "a2") == "a2"
    assert deepest_latest(NODES, "u1") == "a1b"


def test_cycles_do_not_hang() -> None:
    loop = [N("x", "y"), N("y", "x")]
    assert len(path_to(loop, "x")) == 2
