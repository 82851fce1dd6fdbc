"""`/api/conversations`: the web app's conversations, branches and streamed answers.

Answers stream as SSE with named events: `start` (the stored user and assistant
messages), `delta` (text), `tool_call` / `tool_result` / `continue` (a tool round and the
answer that follows it), `title`, `done` or `error`. Leaving the stream stops the answer
and leaves it `interrupted`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import aclosing
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from causerie.api.deps import DbDep, EmbedderDep
from causerie.api.native.bounds import MAX_OFFSET
from causerie.api.security import CurrentUser, UserEngineDep
from causerie.api.sse import sse, sse_response
from causerie.chat.conversations import Conversations
from causerie.chat.replies import ChatEvent, Replies
from causerie.chat.views import ConversationView, MessageView

router = APIRouter(prefix="/api/conversations", tags=["conversations"])


class Params(BaseModel):
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    max_tokens: int | None = Field(default=None, ge=1, le=32768)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    tools: list[str] | None = Field(default=None, max_length=16)  # enabled chat tools


class ConversationCreate(BaseModel):
    title: str = Field(default="", max_length=300)
    model: str = Field(default="", max_length=200)
    # None (or absent): the persona's prompt, if any; "": no system prompt at all
    system_prompt: str | None = Field(default=None, max_length=20000)
    persona_id: str | None = Field(default=None, max_length=64)
    params: Params = Params()


class ConversationUpdate(BaseModel):
    title: str | None = Field(default=None, max_length=300)
    pinned: bool | None = None
    archived: bool | None = None
    model: str | None = Field(default=None, max_length=200)
    system_prompt: str | None = Field(default=None, max_length=20000)
    params: Params | None = None


class MessageCreate(BaseModel):
    content: str = Field(min_length=1, max_length=200_000)
    parent_id: str | None = Field(default=None, max_length=64)
    tool: str | None = Field(default=None, max_length=64)  # a tool the answer must call
    timezone: str | None = Field(default=None, max_length=64)  # the user's IANA zone


class BranchSwitch(BaseModel):
    message_id: str = Field(max_length=64)


class MessageOut(BaseModel):
    id: str
    parent_id: str | None
    role: str
    content: str
    status: str
    created_at: datetime
    model: str | None
    error: str | None
    prompt_tokens: int
    completion_tokens: int
    duration_ms: int
    sibling_ids: list[str]
    sibling_count: int
    sibling_position: int
    meta: dict[str, Any]

    @classmethod
    def of(cls, m: MessageView) -> MessageOut:
        return cls(
            **{k: getattr(m, k) for k in cls.model_fields if k not in ("sibling_ids",)},
            sibling_ids=list(m.sibling_ids),
        )


class ConversationOut(BaseModel):
    id: str
    title: str
    model: str
    system_prompt: str
    persona_id: str | None
    params: dict[str, Any]
    pinned: bool
    archived: bool
    created_at: datetime
    updated_at: datetime
    current_leaf_id: str | None
    messages: list[MessageOut] = []

    @classmethod
    def of(cls, c: ConversationView) -> ConversationOut:
        fields = {k: getattr(c, k) for k in cls.model_fields if k != "messages"}
        return cls(**fields, messages=[MessageOut.of(m) for m in c.messages])


class ConversationPage(BaseModel):
    data: list[ConversationOut]
    total: int
    limit: int
    offset: int


def _encode(value: Any) -> Any:
    if isinstance(value, MessageView):
        return MessageOut.of(value).model_dump(mode="json")
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    return jsonable_encoder(value)


async def _frames(events: AsyncIterator[ChatEvent]) -> AsyncIterator[str]:
    async with aclosing(events) as stream:  # type: ignore[type-var]
        async for event in stream:
            yield sse(_encode(event.data), event=event.kind)


@router.post("", status_code=201)
def create(body: ConversationCreate, user: CurrentUser, db: DbDep) -> ConversationOut:
    view = Conversations(db, user.id).create(
        title=body.title,
        model=body.model,
        system_prompt=body.system_prompt,
        persona_id=body.persona_id,
        params=body.params.model_dump(),
    )
    return ConversationOut.of(view)


@router.get("")
def list_conversations(
    user: CurrentUser,
    db: DbDep,
    archived: bool = False,
    limit: int = Query(default=50, ge=1, le=200),
    offset: int = Query(default=0, ge=0, le=MAX_OFFSET),
) -> ConversationPage:
    rows, total = Conversations(db, user.id).list(archived=archived, limit=limit, offset=offset)
    return ConversationPage(
        data=[ConversationOut.of(c) for c in rows], total=total, limit=limit, offset=offset
    )


@router.get("/{conversation_id}")
def get(conversation_id: str, user: CurrentUser, db: DbDep) -> ConversationOut:
    return ConversationOut.of(Conversations(db, user.id).view(conversation_id))


@router.patch("/{conversation_id}")
def update(
    conversation_id: str, body: ConversationUpdate, user: CurrentUser, db: DbDep
) -> ConversationOut:
    changes = body.model_dump(exclude_none=True)
    if body.params is not None:
        changes["params"] = body.params.model_dump(exclude_none=True)
    return ConversationOut.of(Conversations(db, user.id).update(conversation_id, **changes))


@router.delete("/{conversation_id}", status_code=204)
def delete(conversation_id: str, user: CurrentUser, db: DbDep) -> Response:
    Conversations(db, user.id).delete(conversation_id)
    return Response(status_code=204)


@router.put("/{conversation_id}/branch")
def switch_branch(
    conversation_id: str, body: BranchSwitch, user: CurrentUser, db: DbDep
) -> ConversationOut:
    return ConversationOut.of(Conversations(db, user.id).switch(conversation_id, body.message_id))


@router.post("/{conversation_id}/messages", response_model=None)
async def send(
    conversation_id: str,
    body: MessageCreate,
    user: CurrentUser,
    db: DbDep,
    engine: UserEngineDep,
    embedder: EmbedderDep,
) -> StreamingResponse:
    replies = Replies(db, engine, user.id, user.custom_instructions, embedder)
    use_leaf = "parent_id" not in body.model_fields_set
    events = await asyncio.to_thread(
        replies.send,
        conversation_id,
        body.content,
        body.parent_id,
        use_leaf=use_leaf,
        tool=body.tool,
        timezone=body.timezone,
    )
    return sse_response(_frames(events))


@router.post("/{conversation_id}/messages/{message_id}/regenerate", response_model=None)
async def regenerate(
    conversation_id: str,
    message_id: str,
    user: CurrentUser,
    db: DbDep,
    engine: UserEngineDep,
    embedder: EmbedderDep,
) -> StreamingResponse:
    replies = Replies(db, engine, user.id, user.custom_instructions, embedder)
    events = await asyncio.to_thread(replies.regenerate, conversation_id, message_id)
    return sse_response(_frames(events))
