"""`/api/documents`: upload (raw body + `filename`, or pasted text), list, get, delete,
re-index. Thin: the body is read here with a size cap, everything else is in chat.

Uploads and re-index answer 202 with the document `queued`; the indexer reads it in the
background and the row shows `progress_done` / `progress_total`. With `?wait=true` the
answer comes once the document is `ready` or `error` (201 for an upload, 200 otherwise)."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from datetime import datetime

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from causerie.api.deps import DbDep, IndexerDep, SettingsDep
from causerie.api.security import CurrentUser
from causerie.chat.documents import Documents, DocumentView
from causerie.chat.indexer import Indexer
from causerie.chat.uploads import MAX_UPLOAD_BYTES, FileTooLargeError
from causerie.core.errors import InvalidRequestError

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
    progress_done: int
    progress_total: int

    @classmethod
    def of(cls, d: DocumentView) -> DocumentOut:
        return cls(**asdict(d))


class DocumentList(BaseModel):
    data: list[DocumentOut]


def _service(db: DbDep, settings: SettingsDep, user: CurrentUser) -> Documents:
    return Documents(db, settings.data_dir, user.id)


Wait = Query(default=False, description="answer once the document is indexed")
HOW_TO_UPLOAD = (
    "send the file's bytes as the request body and its name in the 'filename' query "
    "parameter, e.g. POST /api/documents?filename=notes.pdf"
)


def _check_upload(request: Request, filename: str | None) -> str:
    """The upload's file name; a multipart form or a missing name is a clear 400."""
    if request.headers.get("content-type", "").lower().startswith("multipart/"):
        raise InvalidRequestError(f"Multipart form uploads are not accepted: {HOW_TO_UPLOAD}.")
    if not filename:
        raise InvalidRequestError(f"Missing the file name: {HOW_TO_UPLOAD}.", param="filename")
    return filename


async def _queued(
    indexer: Indexer, service: Documents, view: DocumentView, wait: bool, done: int
) -> JSONResponse:
    """Wake the indexer; answer 202 at once, or `done` once indexed with `wait`."""
    indexer.poke()
    if wait:
        await indexer.wait(view.id)
        view = await asyncio.to_thread(service.get, view.id)
    body = DocumentOut.of(view).model_dump(mode="json")
    return JSONResponse(body, status_code=done if wait else 202)


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


@router.post("", status_code=202, response_model=DocumentOut)
async def upload(
    request: Request,
    user: CurrentUser,
    db: DbDep,
    settings: SettingsDep,
    indexer: IndexerDep,
    filename: str | None = Query(default=None, max_length=1000),
    wait: bool = Wait,
) -> JSONResponse:
    """The raw file is the body; its type comes from `filename` and its content."""
    filename = _check_upload(request, filename)
    data = await _read_body(request)
    service = _service(db, settings, user)
    view = await asyncio.to_thread(service.queue_upload, filename, data)
    return await _queued(indexer, service, view, wait, 201)


@router.post("/text", status_code=202, response_model=DocumentOut)
async def add_text(
    body: TextDocument,
    user: CurrentUser,
    db: DbDep,
    settings: SettingsDep,
    indexer: IndexerDep,
    wait: bool = Wait,
) -> JSONResponse:
    service = _service(db, settings, user)
    view = await asyncio.to_thread(service.queue_text, body.title, body.text)
    return await _queued(indexer, service, view, wait, 201)


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


@router.post("/{document_id}/reindex", status_code=202, response_model=DocumentOut)
async def reindex(
    document_id: str,
    user: CurrentUser,
    db: DbDep,
    settings: SettingsDep,
    indexer: IndexerDep,
    wait: bool = Wait,
) -> JSONResponse:
    service = _service(db, settings, user)
    view = await asyncio.to_thread(service.queue_reindex, document_id)
    return await _queued(indexer, service, view, wait, 200)
