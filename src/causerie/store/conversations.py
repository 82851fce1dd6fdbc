"""Repositories for conversations and their message trees.

Every query takes the owner's `user_id` and filters on it in SQL: a conversation of
another user is simply not found. Messages form a tree through `parent_id`; the active
branch is the path from the root to `conversations.current_leaf_id`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from causerie.store.accounts import as_utc
from causerie.store.tables import ChatMessage, Conversation, utcnow


class ConversationRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def create(self, user_id: str, **fields: Any) -> Conversation:
        conv = Conversation(user_id=user_id, **fields)
        self.s.add(conv)
        self.s.flush()
        return conv

    def get(self, user_id: str, conversation_id: str) -> Conversation | None:
        return self.s.scalar(
            select(Conversation).where(
                Conversation.id == conversation_id, Conversation.user_id == user_id
            )
        )

    def list(
        self, user_id: str, *, archived: bool = False, limit: int = 50, offset: int = 0
    ) -> tuple[Sequence[Conversation], int]:
        where = (Conversation.user_id == user_id, Conversation.archived == archived)
        total = self.s.scalar(select(func.count()).select_from(Conversation).where(*where)) or 0
        rows = self.s.scalars(
            select(Conversation)
            .where(*where)
            .order_by(Conversation.pinned.desc(), Conversation.updated_at.desc(), Conversation.id)
            .limit(limit)
            .offset(offset)
        ).all()
        return rows, total

    def all_for(self, user_id: str) -> Sequence[Conversation]:
        return self.s.scalars(
            select(Conversation)
            .where(Conversation.user_id == user_id)
            .order_by(Conversation.created_at)
        ).all()

    def touch(self, conv: Conversation) -> None:
        conv.updated_at = utcnow()

    def delete(self, conv: Conversation) -> None:
        self.s.delete(conv)


class MessageRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def add(
        self, conv: Conversation, *, parent_id: str | None, role: str, **fields: Any
    ) -> ChatMessage:
        message = ChatMessage(conversation_id=conv.id, parent_id=parent_id, role=role, **fields)
        self.s.add(message)
        self.s.flush()
        return message

    def all_in(self, conversation_id: str) -> Sequence[ChatMessage]:
        return self.s.scalars(
            select(ChatMessage)
            .where(ChatMessage.conversation_id == conversation_id)
            .order_by(ChatMessage.created_at, ChatMessage.id)
        ).all()

    def get_in(self, conversation_id: str, message_id: str) -> ChatMessage | None:
        return self.s.scalar(
            select(ChatMessage).where(
                ChatMessage.id == message_id, ChatMessage.conversation_id == conversation_id
            )
        )

    def save_progress(self, message_id: str, content: str, **fields: Any) -> None:
        self.s.execute(
            update(ChatMessage)
            .where(ChatMessage.id == message_id)
            .values(content=content, **fields)
        )

    def streaming(self) -> list[tuple[str, datetime, int]]:
        """(id, created_at, duration_ms) of every answer still `streaming`: its last
        progress write was at about created_at + duration_ms."""
        query = select(ChatMessage.id, ChatMessage.created_at, ChatMessage.duration_ms).where(
            ChatMessage.status == "streaming"
        )
        return [(r.id, as_utc(r.created_at), r.duration_ms or 0) for r in self.s.execute(query)]

    def interrupt_streaming(
        self, reason: str = "the server stopped", ids: Collection[str] | None = None
    ) -> int:
        """Mark answers left `streaming` (all, or those of `ids` still streaming) as
        `interrupted`; returns how many."""
        where = [ChatMessage.status == "streaming"]
        if ids is not None:
            if not ids:
                return 0
            where.append(ChatMessage.id.in_(list(ids)))
        result = self.s.execute(
            update(ChatMessage).where(*where).values(status="interrupted", error=reason)
        )
        return int(getattr(result, "rowcount", 0) or 0)


def created_order(message: ChatMessage) -> tuple[datetime, str]:
    return (message.created_at, message.id)
