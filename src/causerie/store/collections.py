"""Collections of documents and attachments of knowledge to conversations and personas.

A user sees their own collections and those the admin shared; every query carries that
filter. Attachments are read through their target: a conversation through its owner, a
persona through its visibility (own or shared); documents are re-checked at retrieval.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from causerie.store.tables import (
    Attachment,
    CollectionDocument,
    Document,
    KnowledgeCollection,
    Persona,
)


def _visible(user_id: str) -> Any:
    return or_(KnowledgeCollection.user_id == user_id, KnowledgeCollection.shared.is_(True))


class CollectionRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def create(self, user_id: str, **fields: Any) -> KnowledgeCollection:
        collection = KnowledgeCollection(user_id=user_id, **fields)
        self.s.add(collection)
        self.s.flush()
        return collection

    def visible(self, user_id: str) -> Sequence[KnowledgeCollection]:
        return self.s.scalars(
            select(KnowledgeCollection)
            .where(_visible(user_id))
            .order_by(KnowledgeCollection.name, KnowledgeCollection.id)
        ).all()

    def get_visible(self, user_id: str, collection_id: str) -> KnowledgeCollection | None:
        return self.s.scalar(
            select(KnowledgeCollection).where(
                KnowledgeCollection.id == collection_id, _visible(user_id)
            )
        )

    def find_own(self, user_id: str, name: str) -> KnowledgeCollection | None:
        return self.s.scalar(
            select(KnowledgeCollection)
            .where(KnowledgeCollection.user_id == user_id, KnowledgeCollection.name == name)
            .order_by(KnowledgeCollection.created_at)
            .limit(1)
        )

    def delete(self, collection: KnowledgeCollection) -> None:
        self.s.execute(
            delete(CollectionDocument).where(CollectionDocument.collection_id == collection.id)
        )
        self.s.execute(delete(Attachment).where(Attachment.collection_id == collection.id))
        self.s.delete(collection)
        self.s.flush()

    def documents(self, user_id: str, collection_id: str) -> Sequence[Document]:
        """The documents of a collection the user may see (own or shared), newest first."""
        return self.s.scalars(
            select(Document)
            .join(CollectionDocument, CollectionDocument.document_id == Document.id)
            .join(KnowledgeCollection, KnowledgeCollection.id == CollectionDocument.collection_id)
            .where(CollectionDocument.collection_id == collection_id, _visible(user_id))
            .order_by(Document.created_at.desc(), Document.id)
        ).all()

    def member_ids(self, user_id: str, collection_ids: Iterable[str]) -> set[str]:
        """Ids of the documents in those of `collection_ids` that the user may see."""
        ids = list(collection_ids)
        if not ids:
            return set()
        rows = self.s.scalars(
            select(CollectionDocument.document_id)
            .join(KnowledgeCollection, KnowledgeCollection.id == CollectionDocument.collection_id)
            .where(CollectionDocument.collection_id.in_(ids), _visible(user_id))
        ).all()
        return set(rows)

    def has_document(self, collection_id: str, document_id: str) -> bool:
        return (
            self.s.get(
                CollectionDocument, {"collection_id": collection_id, "document_id": document_id}
            )
            is not None
        )

    def add_document(self, collection_id: str, document_id: str) -> None:
        if not self.has_document(collection_id, document_id):
            self.s.add(CollectionDocument(collection_id=collection_id, document_id=document_id))
            self.s.flush()

    def remove_document(self, collection_id: str, document_id: str) -> None:
        self.s.execute(
            delete(CollectionDocument).where(
                CollectionDocument.collection_id == collection_id,
                CollectionDocument.document_id == document_id,
            )
        )

    def counts(self, collection_ids: Iterable[str]) -> dict[str, int]:
        ids = list(collection_ids)
        if not ids:
            return {}
        rows = self.s.execute(
            select(CollectionDocument.collection_id, CollectionDocument.document_id).where(
                CollectionDocument.collection_id.in_(ids)
            )
        ).all()
        out: dict[str, int] = dict.fromkeys(ids, 0)
        for collection_id, _ in rows:
            out[collection_id] += 1
        return out


class AttachmentRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def add(self, user_id: str, **fields: str | None) -> Attachment:
        """Attach once: the same source on the same target is returned, not repeated."""
        found = self.s.scalar(
            select(Attachment).where(
                *(getattr(Attachment, key) == value for key, value in fields.items()),
                *(
                    getattr(Attachment, key).is_(None)
                    for key in ("conversation_id", "persona_id", "collection_id", "document_id")
                    if key not in fields
                ),
            )
        )
        if found is not None:
            return found
        attachment = Attachment(user_id=user_id, **fields)
        self.s.add(attachment)
        self.s.flush()
        return attachment

    def of_conversation(self, user_id: str, conversation_id: str) -> Sequence[Attachment]:
        return self.s.scalars(
            select(Attachment)
            .where(Attachment.conversation_id == conversation_id, Attachment.user_id == user_id)
            .order_by(Attachment.created_at, Attachment.id)
        ).all()

    def of_persona(self, user_id: str, persona_id: str) -> Sequence[Attachment]:
        """Attachments of a persona the user may see (their own or a shared one)."""
        return self.s.scalars(
            select(Attachment)
            .join(Persona, Persona.id == Attachment.persona_id)
            .where(
                Attachment.persona_id == persona_id,
                or_(Persona.user_id == user_id, Persona.shared.is_(True)),
            )
            .order_by(Attachment.created_at, Attachment.id)
        ).all()

    def delete(self, attachment: Attachment) -> None:
        self.s.delete(attachment)
        self.s.flush()
