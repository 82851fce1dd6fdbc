"""A unit of work: one database session with the repositories that use it.

Layers above the store never import SQLAlchemy: they open `with db.unit() as uow:`, call
repository methods (`uow.users`, `uow.conversations`, …) and `uow.commit()`.
"""

from __future__ import annotations

from functools import cached_property

from sqlalchemy.orm import Session

from causerie.store.accounts import (
    ApiKeyRepo,
    AppSettingRepo,
    RateRepo,
    SessionRepo,
    UsageRepo,
    UserRepo,
)
from causerie.store.collections import AttachmentRepo, CollectionRepo
from causerie.store.conversations import ConversationRepo, MessageRepo
from causerie.store.documents import DocumentRepo
from causerie.store.indexing import IndexQueue
from causerie.store.personas import PersonaRepo
from causerie.store.search import SearchHit, search_messages
from causerie.store.shares import ShareRepo
from causerie.store.vectors import BlobVectorIndex, SqliteVecIndex, VectorIndex


class Unit:
    def __init__(self, session: Session, *, sqlite_vec: bool = False) -> None:
        self.session = session
        self.sqlite_vec = sqlite_vec  # the connection has sqlite-vec loaded

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()

    def search(self, user_id: str, query: str, limit: int = 20, offset: int = 0) -> list[SearchHit]:
        """Full-text search in one user's conversations (owner filter inside the query)."""
        return search_messages(self.session, user_id, query, limit, offset)

    @cached_property
    def conversations(self) -> ConversationRepo:
        return ConversationRepo(self.session)

    @cached_property
    def messages(self) -> MessageRepo:
        return MessageRepo(self.session)

    @cached_property
    def documents(self) -> DocumentRepo:
        return DocumentRepo(self.session)

    @cached_property
    def index_queue(self) -> IndexQueue:
        return IndexQueue(self.session)

    @cached_property
    def collections(self) -> CollectionRepo:
        return CollectionRepo(self.session)

    @cached_property
    def attachments(self) -> AttachmentRepo:
        return AttachmentRepo(self.session)

    @cached_property
    def vectors(self) -> VectorIndex:
        return SqliteVecIndex(self.session) if self.sqlite_vec else BlobVectorIndex(self.session)

    @cached_property
    def personas(self) -> PersonaRepo:
        return PersonaRepo(self.session)

    @cached_property
    def shares(self) -> ShareRepo:
        return ShareRepo(self.session)

    @cached_property
    def users(self) -> UserRepo:
        return UserRepo(self.session)

    @cached_property
    def auth_sessions(self) -> SessionRepo:
        return SessionRepo(self.session)

    @cached_property
    def api_keys(self) -> ApiKeyRepo:
        return ApiKeyRepo(self.session)

    @cached_property
    def app_settings(self) -> AppSettingRepo:
        return AppSettingRepo(self.session)

    @cached_property
    def rates(self) -> RateRepo:
        return RateRepo(self.session)

    @cached_property
    def usage(self) -> UsageRepo:
        return UsageRepo(self.session)
