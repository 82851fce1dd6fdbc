"""The unit every loader produces: a heading or a paragraph of text, in reading order."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Block:
    """A heading (`level` 1..6) or a paragraph (`level` 0) of a document."""

    text: str
    level: int = 0
