"""A user's own settings (custom instructions, preferences) and search in their chats."""

from __future__ import annotations

from typing import Any

from causerie.core.errors import NotFoundError
from causerie.store.db import Database
from causerie.store.search import SearchHit


class UserSettings:
    def __init__(self, db: Database, user_id: str) -> None:
        self.db, self.user_id = db, user_id

    def get(self) -> dict[str, Any]:
        with self.db.unit() as uow:
            user = uow.users.get(self.user_id)
            if user is None:
                raise NotFoundError("user not found")
            return {
                "custom_instructions": user.custom_instructions,
                "preferences": dict(user.preferences or {}),
            }

    def put(self, custom_instructions: str, preferences: dict[str, Any]) -> dict[str, Any]:
        with self.db.unit() as uow:
            user = uow.users.get(self.user_id)
            if user is None:
                raise NotFoundError("user not found")
            user.custom_instructions = custom_instructions
            user.preferences = dict(preferences)
            uow.commit()
        return self.get()

    def search(self, query: str, limit: int, offset: int) -> list[SearchHit]:
        with self.db.unit() as uow:
            return uow.search(self.user_id, query, limit, offset)
