"""Share links: read-only snapshots of a conversation's active path."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from causerie.store.tables import Share, utcnow


class ShareRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def create(
        self, token: str, user_id: str, conversation_id: str, title: str, snapshot: dict[str, Any]
    ) -> Share:
        share = Share(
            id=token,
            user_id=user_id,
            conversation_id=conversation_id,
            title=title,
            snapshot=snapshot,
        )
        self.s.add(share)
        self.s.flush()
        return share

    def public(self, token: str) -> Share | None:
        return self.s.scalar(select(Share).where(Share.id == token, Share.revoked_at.is_(None)))

    def owned(self, user_id: str, token: str) -> Share | None:
        return self.s.scalar(select(Share).where(Share.id == token, Share.user_id == user_id))

    def for_conversation(self, user_id: str, conversation_id: str) -> Sequence[Share]:
        return self.s.scalars(
            select(Share)
            .where(Share.user_id == user_id, Share.conversation_id == conversation_id)
            .order_by(Share.created_at)
        ).all()

    def revoke(self, share: Share) -> None:
        if share.revoked_at is None:
            share.revoked_at = utcnow()
