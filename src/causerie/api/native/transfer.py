"""Export/import (`/api/export`, `/api/import`) and share links (`/api/shares`,
public `/api/shared/{token}`)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from causerie.api.deps import DbDep
from causerie.api.security import CurrentUser
from causerie.chat.sharing import ShareView, Sharing, read_shared
from causerie.chat.transfer import export_json, export_markdown, import_conversations
from causerie.core.errors import InvalidRequestError

router = APIRouter(prefix="/api", tags=["export and sharing"])
MAX_IMPORT_BYTES = 50 * 1024 * 1024


class ImportResult(BaseModel):
    imported: int


class ShareOut(BaseModel):
    id: str
    conversation_id: str
    title: str
    created_at: datetime
    revoked: bool
    url: str

    @classmethod
    def of(cls, s: ShareView) -> ShareOut:
        return cls(**s.__dict__, url=f"/s/{s.id}")


class ShareList(BaseModel):
    data: list[ShareOut]


class SharedMessage(BaseModel):
    role: str
    content: str


class SharedConversation(BaseModel):
    title: str
    created_at: datetime
    messages: list[SharedMessage]


@router.get("/export", response_model=None)
async def export(
    user: CurrentUser, db: DbDep, format: Literal["json", "markdown"] = Query(default="json")
) -> Response:
    stamp = datetime.now().strftime("%Y%m%d")
    if format == "markdown":
        text = await asyncio.to_thread(export_markdown, db, user.id)
        name = f"causerie-{stamp}.md"
        return Response(
            text,
            media_type="text/markdown; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    data = await asyncio.to_thread(export_json, db, user.id)
    return Response(
        json.dumps(data, ensure_ascii=False),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="causerie-{stamp}.json"'},
    )


@router.post("/import")
async def import_(request: Request, user: CurrentUser, db: DbDep) -> ImportResult:
    """Body: a Causerie export or ChatGPT's conversations.json, sent as is."""
    size = 0
    chunks: list[bytes] = []
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_IMPORT_BYTES:
            raise InvalidRequestError("the file is larger than 50 MB")
        chunks.append(chunk)
    try:
        data: Any = json.loads(b"".join(chunks))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidRequestError(f"the file is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise InvalidRequestError("the file is nested too deeply to be an export") from exc
    count = await asyncio.to_thread(import_conversations, db, user.id, data)
    return ImportResult(imported=count)


@router.post("/conversations/{conversation_id}/shares", status_code=201)
def create_share(conversation_id: str, user: CurrentUser, db: DbDep) -> ShareOut:
    return ShareOut.of(Sharing(db, user.id).create(conversation_id))


@router.get("/conversations/{conversation_id}/shares")
def list_shares(conversation_id: str, user: CurrentUser, db: DbDep) -> ShareList:
    return ShareList(data=[ShareOut.of(s) for s in Sharing(db, user.id).list(conversation_id)])


@router.delete("/shares/{share_id}", status_code=204)
def revoke_share(share_id: str, user: CurrentUser, db: DbDep) -> Response:
    Sharing(db, user.id).revoke(share_id)
    return Response(status_code=204)


@router.get("/shared/{share_id}")
def shared(share_id: str, db: DbDep) -> SharedConversation:
    """Public: no account needed; shows the snapshot and nothing else."""
    return SharedConversation.model_validate(read_shared(db, share_id))
