"""Collections ("knowledge") of one user: their own, plus those the admin shared.

Only the author changes a collection or its documents, and only with their own
documents; only an admin may share one (then everyone may read it, never change it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from causerie.chat.documents import DocumentView, document_view
from causerie.core.errors import NotFoundError, PermissionDeniedError
from causerie.store.accounts import as_utc
from causerie.store.db import Database
from causerie.store.tables import KnowledgeCollection
from causerie.store.unit import Unit


@dataclass(frozen=True, slots=True)
class CollectionView:
    id: str
    name: str
    description: str
    shared: bool
    mine: bool
    document_count: int
    created_at: datetime


def collection_view(c: KnowledgeCollection, user_id: str, count: int) -> CollectionView:
    created = as_utc(c.created_at)
    return CollectionView(
        id=c.id,
        name=c.name,
        description=c.description,
        shared=c.shared,
        mine=c.user_id == user_id,
        document_count=count,
        created_at=created,
    )


class Collections:
    def __init__(self, db: Database, user_id: str, is_admin: bool = False) -> None:
        self.db, self.user_id, self.is_admin = db, user_id, is_admin

    def all(self) -> list[CollectionView]:
        with self.db.unit() as uow:
            rows = uow.collections.visible(self.user_id)
            counts = uow.collections.counts(c.id for c in rows)
            return [collection_view(c, self.user_id, counts.get(c.id, 0)) for c in rows]

    def get(self, collection_id: str) -> CollectionView:
        with self.db.unit() as uow:
            return self._view(uow, self.visible(uow, collection_id))

    def create(self, name: str, description: str = "", shared: bool = False) -> CollectionView:
        if shared and not self.is_admin:
            raise PermissionDeniedError("only an administrator can share a collection")
        with self.db.unit() as uow:
            collection = uow.collections.create(
                self.user_id, name=name.strip(), description=description, shared=shared
            )
            uow.commit()
            return collection_view(collection, self.user_id, 0)

    def named(self, name: str) -> CollectionView:
        """The user's own collection of that name, made when there is none (for the CLI)."""
        with self.db.unit() as uow:
            found = uow.collections.find_own(self.user_id, name.strip())
            if found is not None:
                return self._view(uow, found)
        return self.create(name)

    def update(
        self,
        collection_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        shared: bool | None = None,
    ) -> CollectionView:
        with self.db.unit() as uow:
            collection = self._own(uow, collection_id)
            if shared is not None and shared != collection.shared:
                if not self.is_admin:
                    raise PermissionDeniedError("only an administrator can share a collection")
                collection.shared = shared
            if name is not None:
                collection.name = name.strip()
            if description is not None:
                collection.description = description
            uow.commit()
            return self._view(uow, collection)

    def delete(self, collection_id: str) -> None:
        """The collection goes; its documents stay (they belong to their uploader)."""
        with self.db.unit() as uow:
            uow.collections.delete(self._own(uow, collection_id))
            uow.commit()

    def documents(self, collection_id: str) -> list[DocumentView]:
        with self.db.unit() as uow:
            self.visible(uow, collection_id)
            return [
                document_view(d) for d in uow.collections.documents(self.user_id, collection_id)
            ]

    def add_document(self, collection_id: str, document_id: str) -> None:
        with self.db.unit() as uow:
            self._own(uow, collection_id)
            if uow.documents.get(self.user_id, document_id) is None:
                raise NotFoundError("document not found", param="document_id")
            uow.collections.add_document(collection_id, document_id)
            uow.commit()

    def remove_document(self, collection_id: str, document_id: str) -> None:
        with self.db.unit() as uow:
            self._own(uow, collection_id)
            uow.collections.remove_document(collection_id, document_id)
            uow.commit()

    # --- helpers ---------------------------------------------------------------------------
    def visible(self, uow: Unit, collection_id: str) -> KnowledgeCollection:
        found = uow.collections.get_visible(self.user_id, collection_id)
        if found is None:
            raise NotFoundError("collection not found", param="collection_id")
        return found

    def _own(self, uow: Unit, collection_id: str) -> KnowledgeCollection:
        found = self.visible(uow, collection_id)
        if found.user_id != self.user_id:
            raise PermissionDeniedError("this collection is shared by an administrator")
        return found

    def _view(self, uow: Unit, c: KnowledgeCollection) -> CollectionView:
        return collection_view(c, self.user_id, uow.collections.counts([c.id]).get(c.id, 0))
