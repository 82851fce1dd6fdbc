"""`/api/documents`: upload (raw body + `filename`, or pasted text), list, get, delete,
re-index. Thin: the body is read here with a size cap, everything else is in chat."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from datetime import datetime

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from causerie.api.deps import DbDep, EmbedderDep, SettingsDep
from causerie.api.security import CurrentUser
from causerie.chat.documents import (
    MAX_UPLOAD_BYTES,
    Documents,
    DocumentView,
    FileTooLargeError,
)
from causerie.engine.base import Embedder

router = APIRouter(prefix="/api/documents", tags=["documents"])
TOO_LARGE = f"files may be at most {MAX_UPLOAD_BYTES // (1024 * 1024)} MB"


class TextDocument(BaseModel):
    title: str = Field(default="", max_length=200)
    text: str = Field(min_length=1, max_length=2_000_000)


class DocumentOut(BaseModel):
    id: str
    filename: str
    mime: str
    size: int
    sha256: str
    status: str
    error: str | None
    chunk_count: int
    created_at: datetime

    @classmethod
    def of(cls, d: DocumentView) -> DocumentOut:
        return cls(**asdict(d))


class DocumentList(BaseModel):
    data: list[DocumentOut]


def _service(
    db: DbDep, settings: SettingsDep, user: CurrentUser, embedder: Embedder | None = None
) -> Documents:
    return Documents(db, settings.data_dir, user.id, embedder)


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_UPLOAD_BYTES:
        raise FileTooLargeError(TOO_LARGE)
    size = 0
    parts: list[bytes] = []
    async for part in request.stream():
        size += len(part)
        if size > MAX_UPLOAD_BYTES:
            raise FileTooLargeError(TOO_LARGE)
        parts.append(part)
    return b"".join(parts)


@router.post("", status_code=201)
async def upload(
    request: Request,
    user: CurrentUser,
    db: DbDep,
    settings: SettingsDep,
    embedder: EmbedderDep,
    filename: str = Query(min_length=1, max_length=1000),
) -> DocumentOut:
    """The raw file is the body; its type comes from `filename` and its content."""
    data = await _read_body(request)
    service = _service(db, settings, user, embedder)
    return DocumentOut.of(await asyncio.to_thread(service.upload, filename, data))


@router.post("/text", status_code=201)
def add_text(
    body: TextDocument, user: CurrentUser, db: DbDep, settings: SettingsDep, embedder: EmbedderDep
) -> DocumentOut:
    service = _service(db, settings, user, embedder)
    return DocumentOut.of(service.add_text(body.title, body.text))


@router.get("")
def list_documents(user: CurrentUser, db: DbDep, settings: SettingsDep) -> DocumentList:
    return DocumentList(data=[DocumentOut.of(d) for d in _service(db, settings, user).mine()])


@router.get("/{document_id}")
def get(document_id: str, user: CurrentUser, db: DbDep, settings: SettingsDep) -> DocumentOut:
    return DocumentOut.of(_service(db, settings, user).get(document_id))


@router.delete("/{document_id}", status_code=204)
def delete(document_id: str, user: CurrentUser, db: DbDep, settings: SettingsDep) -> Response:
    _service(db, settings, user).delete(document_id)
    return Response(status_code=204)


@router.post("/{document_id}/reindex")
def reindex(
    document_id: str, user: CurrentUser, db: DbDep, settings: SettingsDep, embedder: EmbedderDep
) -> DocumentOut:
    return DocumentOut.of(_service(db, settings, user, embedder).reindex(document_id))
