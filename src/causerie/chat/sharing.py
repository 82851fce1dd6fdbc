"""Read-only share links: a snapshot of the active path at the time of sharing, revocable,
readable without an account, showing nothing but the title and the messages."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from causerie.chat.conversations import Conversations
from causerie.chat.tree import path_to
from causerie.core.errors import NotFoundError
from causerie.store.db import Database


@dataclass(frozen=True)
class ShareView:
    id: str
    conversation_id: str
    title: str
    created_at: datetime
    revoked: bool


class Sharing:
    def __init__(self, db: Database, user_id: str) -> None:
        self.db, self.user_id = db, user_id

    def create(self, conversation_id: str) -> ShareView:
        with self.db.unit() as uow:
            conv = Conversations(self.db, self.user_id).owned(uow, conversation_id)
            path = path_to(list(uow.messages.all_in(conv.id)), conv.current_leaf_id)
            snapshot: dict[str, Any] = {
                "messages": [
                    {"role": m.role, "content": m.content}
                    for m in path
                    if m.role in ("user", "assistant") and m.content
                ]
            }
            share = uow.shares.create(
                secrets.token_urlsafe(24), self.user_id, conv.id, conv.title, snapshot
            )
            uow.commit()
            return ShareView(share.id, conv.id, share.title, share.created_at, False)

    def list(self, conversation_id: str) -> list[ShareView]:
        with self.db.unit() as uow:
            conv = Conversations(self.db, self.user_id).owned(uow, conversation_id)
            return [
                ShareView(s.id, s.conversation_id, s.title, s.created_at, s.revoked_at is not None)
                for s in uow.shares.for_conversation(self.user_id, conv.id)
            ]

    def revoke(self, token: str) -> None:
        with self.db.unit() as uow:
            share = uow.shares.owned(self.user_id, token)
            if share is None:
                raise NotFoundError("share not found")
            uow.shares.revoke(share)
            uow.commit()


def read_shared(db: Database, token: str) -> dict[str, Any]:
    """The public view of a share link; 404 once revoked (or the conversation deleted)."""
    with db.unit() as uow:
        share = uow.shares.public(token)
        if share is None:
            raise NotFoundError("this link does not exist or was revoked")
        return {
            "title": share.title,
            "created_at": share.created_at,
            "messages": list(share.snapshot.get("messages", [])),
        }
