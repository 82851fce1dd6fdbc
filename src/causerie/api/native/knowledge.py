"""`/api/collections` and the attachments of knowledge to conversations and personas.

Thin: validation here, rules in chat/knowledge.py and chat/attachments.py. A collection
the admin shared is readable by everyone and changed by its author only.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from causerie.api.deps import DbDep
from causerie.api.native.documents import DocumentList, DocumentOut
from causerie.api.security import CurrentUser
from causerie.chat.attachments import Attachments, AttachmentView
from causerie.chat.knowledge import Collections, CollectionView

router = APIRouter(tags=["knowledge"])


class CollectionCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    shared: bool = False


class CollectionUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    shared: bool | None = None


class CollectionOut(BaseModel):
    id: str
    name: str
    description: str
    shared: bool
    mine: bool
    document_count: int
    created_at: datetime

    @classmethod
    def of(cls, c: CollectionView) -> CollectionOut:
        return cls(**asdict(c))


class CollectionList(BaseModel):
    data: list[CollectionOut]


class AttachmentCreate(BaseModel):
    collection_id: str | None = Field(default=None, max_length=64)
    document_id: str | None = Field(default=None, max_length=64)


class AttachmentOut(BaseModel):
    id: str
    kind: str
    source_id: str
    name: str

    @classmethod
    def of(cls, a: AttachmentView) -> AttachmentOut:
        return cls(**asdict(a))


class AttachmentList(BaseModel):
    data: list[AttachmentOut]


def _collections(db: DbDep, user: CurrentUser) -> Collections:
    return Collections(db, user.id, user.role == "admin")


def _attachments(db: DbDep, user: CurrentUser) -> Attachments:
    return Attachments(db, user.id, user.role == "admin")


# --- collections ---------------------------------------------------------------------------
@router.get("/api/collections")
def list_collections(user: CurrentUser, db: DbDep) -> CollectionList:
    return CollectionList(data=[CollectionOut.of(c) for c in _collections(db, user).all()])


@router.post("/api/collections", status_code=201)
def create_collection(body: CollectionCreate, user: CurrentUser, db: DbDep) -> CollectionOut:
    view = _collections(db, user).create(body.name, body.description, body.shared)
    return CollectionOut.of(view)


@router.get("/api/collections/{collection_id}")
def get_collection(collection_id: str, user: CurrentUser, db: DbDep) -> CollectionOut:
    return CollectionOut.of(_collections(db, user).get(collection_id))


@router.patch("/api/collections/{collection_id}")
def update_collection(
    collection_id: str, body: CollectionUpdate, user: CurrentUser, db: DbDep
) -> CollectionOut:
    view = _collections(db, user).update(
        collection_id, name=body.name, description=body.description, shared=body.shared
    )
    return CollectionOut.of(view)


@router.delete("/api/collections/{collection_id}", status_code=204)
def delete_collection(collection_id: str, user: CurrentUser, db: DbDep) -> Response:
    _collections(db, user).delete(collection_id)
    return Response(status_code=204)


@router.get("/api/collections/{collection_id}/documents")
def collection_documents(collection_id: str, user: CurrentUser, db: DbDep) -> DocumentList:
    rows = _collections(db, user).documents(collection_id)
    return DocumentList(data=[DocumentOut.of(d) for d in rows])


@router.put("/api/collections/{collection_id}/documents/{document_id}", status_code=204)
def add_to_collection(
    collection_id: str, document_id: str, user: CurrentUser, db: DbDep
) -> Response:
    _collections(db, user).add_document(collection_id, document_id)
    return Response(status_code=204)


@router.delete("/api/collections/{collection_id}/documents/{document_id}", status_code=204)
def remove_from_collection(
    collection_id: str, document_id: str, user: CurrentUser, db: DbDep
) -> Response:
    _collections(db, user).remove_document(collection_id, document_id)
    return Response(status_code=204)


# --- attachments -----------------------------------------------------------------------------
@router.get("/api/conversations/{conversation_id}/attachments")
def conversation_attachments(conversation_id: str, user: CurrentUser, db: DbDep) -> AttachmentList:
    rows = _attachments(db, user).of_conversation(conversation_id)
    return AttachmentList(data=[AttachmentOut.of(a) for a in rows])


@router.post("/api/conversations/{conversation_id}/attachments", status_code=201)
def attach_to_conversation(
    conversation_id: str, body: AttachmentCreate, user: CurrentUser, db: DbDep
) -> AttachmentOut:
    view = _attachments(db, user).attach_to_conversation(
        conversation_id, collection_id=body.collection_id, document_id=body.document_id
    )
    return AttachmentOut.of(view)


@router.delete("/api/conversations/{conversation_id}/attachments/{attachment_id}", status_code=204)
def detach_from_conversation(
    conversation_id: str, attachment_id: str, user: CurrentUser, db: DbDep
) -> Response:
    _attachments(db, user).detach_from_conversation(conversation_id, attachment_id)
    return Response(status_code=204)


@router.get("/api/personas/{persona_id}/attachments")
def persona_attachments(persona_id: str, user: CurrentUser, db: DbDep) -> AttachmentList:
    rows = _attachments(db, user).of_persona(persona_id)
    return AttachmentList(data=[AttachmentOut.of(a) for a in rows])


@router.post("/api/personas/{persona_id}/attachments", status_code=201)
def attach_to_persona(
    persona_id: str, body: AttachmentCreate, user: CurrentUser, db: DbDep
) -> AttachmentOut:
    view = _attachments(db, user).attach_to_persona(
        persona_id, collection_id=body.collection_id, document_id=body.document_id
    )
    return AttachmentOut.of(view)


@router.delete("/api/personas/{persona_id}/attachments/{attachment_id}", status_code=204)
def detach_from_persona(
    persona_id: str, attachment_id: str, user: CurrentUser, db: DbDep
) -> Response:
    _attachments(db, user).detach_from_persona(persona_id, attachment_id)
    return Response(status_code=204)
