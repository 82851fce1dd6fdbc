"""A unit of work: one database session with the repositories that use it.

Layers above the store never import SQLAlchemy: they open `with db.unit() as uow:`, call
repository methods (`uow.users`, `uow.conversations`, …) and `uow.commit()`.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from causerie.store.accounts import (
        ApiKeyRepo,
        AppSettingRepo,
        RateRepo,
        SessionRepo,
        UsageRepo,
        UserRepo,
    )
    from causerie.store.conversations import ConversationRepo, MessageRepo


class Unit:
    def __init__(self, session: Session) -> None:
        self.session = session

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()

    @cached_property
    def conversations(self) -> ConversationRepo:
        from causerie.store.conversations import ConversationRepo

        return ConversationRepo(self.session)

    @cached_property
    def messages(self) -> MessageRepo:
        from causerie.store.conversations import MessageRepo

        return MessageRepo(self.session)

    @cached_property
    def users(self) -> UserRepo:
        from causerie.store.accounts import UserRepo

        return UserRepo(self.session)

    @cached_property
    def auth_sessions(self) -> SessionRepo:
        from causerie.store.accounts import SessionRepo

        return SessionRepo(self.session)

    @cached_property
    def api_keys(self) -> ApiKeyRepo:
        from causerie.store.accounts import ApiKeyRepo

        return ApiKeyRepo(self.session)

    @cached_property
    def app_settings(self) -> AppSettingRepo:
        from causerie.store.accounts import AppSettingRepo

        return AppSettingRepo(self.session)

    @cached_property
    def rates(self) -> RateRepo:
        from causerie.store.accounts import RateRepo

        return RateRepo(self.session)

    @cached_property
    def usage(self) -> UsageRepo:
        from causerie.store.accounts import UsageRepo

        return UsageRepo(self.session)
