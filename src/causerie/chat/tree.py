"""Pure functions over a conversation's message tree: the active path, siblings, leaves.

Siblings are the children of the same parent (roots are siblings of each other), in
creation order. Switching to a message makes the path go through it, down to its
most recently created descendant.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Protocol, TypeVar


class Node(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def parent_id(self) -> str | None: ...


N = TypeVar("N", bound=Node)


def children_of(nodes: Sequence[N]) -> dict[str | None, list[N]]:
    """Parent id -> children in the given (creation) order."""
    out: dict[str | None, list[N]] = defaultdict(list)
    for node in nodes:
        out[node.parent_id].append(node)
    return out


def path_to(nodes: Sequence[N], leaf_id: str | None) -> list[N]:
    """Root-to-leaf path ending at `leaf_id` (empty when it is unknown)."""
    by_id = {n.id: n for n in nodes}
    path: list[N] = []
    seen: set[str] = set()
    current = by_id.get(leaf_id) if leaf_id else None
    while current is not None and current.id not in seen:
        seen.add(current.id)
        path.append(current)
        current = by_id.get(current.parent_id) if current.parent_id else None
    path.reverse()
    return path


def deepest_latest(nodes: Sequence[N], start_id: str) -> str:
    """From `start_id`, follow the most recent child down to a leaf."""
    kids = children_of(nodes)
    current = start_id
    seen = {current}
    while kids.get(current):
        current = kids[current][-1].id
        if current in seen:
            break
        seen.add(current)
    return current
