"""Plain read models that the chat layer hands to the API (no ORM objects leak upward)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class MessageView:
    id: str
    parent_id: str | None
    role: str
    content: str
    status: str
    created_at: datetime
    model: str | None = None
    error: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    duration_ms: int = 0
    sibling_ids: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def sibling_count(self) -> int:
        return max(1, len(self.sibling_ids))

    @property
    def sibling_position(self) -> int:
        return self.sibling_ids.index(self.id) + 1 if self.id in self.sibling_ids else 1


@dataclass(frozen=True)
class ConversationView:
    id: str
    title: str
    model: str
    system_prompt: str
    persona_id: str | None
    params: dict[str, Any]
    pinned: bool
    archived: bool
    created_at: datetime
    updated_at: datetime
    current_leaf_id: str | None = None
    messages: tuple[MessageView, ...] = field(default=())
