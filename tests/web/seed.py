"""Writes conversations straight into the test server's database through the store (the
same rows the app writes), for states that would take the model too long to produce: a
1,000-message conversation, hostile text in answers and titles, old dates."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from causerie.store.db import Database


def seed_conversation(
    db_url: str,
    user_id: str,
    title: str,
    turns: Sequence[tuple[str, str]],
    *,
    updated_at: datetime | None = None,
    model: str = "smollm2-135m",
    pinned: bool = False,
) -> tuple[str, list[str]]:
    """A conversation whose active path is `turns` ((role, content) pairs); returns its
    id and the message ids in order."""
    db = Database(db_url)
    try:
        with db.unit() as uow:
            conv = uow.conversations.create(user_id, title=title, model=model, pinned=pinned)
            parent: str | None = None
            ids: list[str] = []
            for role, content in turns:
                extra = {"model": model, "completion_tokens": 42, "duration_ms": 1400}
                message = uow.messages.add(
                    conv,
                    parent_id=parent,
                    role=role,
                    content=content,
                    status="complete",
                    **(extra if role == "assistant" else {}),
                )
                parent = message.id
                ids.append(message.id)
            conv.current_leaf_id = parent
            if updated_at is not None:
                conv.updated_at = updated_at
            uow.commit()
            return conv.id, ids
    finally:
        db.close()
