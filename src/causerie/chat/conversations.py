"""Conversation management for one user: create, list, view, rename, pin, archive, delete,
switch branches. Everything is scoped to the owner; another user's id is 'not found'."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from causerie.chat.tools import check_names
from causerie.chat.tree import children_of, deepest_latest, path_to
from causerie.chat.views import ConversationView, MessageView
from causerie.core.errors import InvalidRequestError, NotFoundError
from causerie.store.db import Database
from causerie.store.tables import ChatMessage, Conversation
from causerie.store.unit import Unit

SAMPLING_KEYS = ("temperature", "max_tokens", "top_p")


def message_view(message: ChatMessage, siblings: Sequence[ChatMessage] = ()) -> MessageView:
    return MessageView(
        id=message.id,
        parent_id=message.parent_id,
        role=message.role,
        content=message.content,
        status=message.status,
        created_at=message.created_at,
        model=message.model,
        error=message.error,
        prompt_tokens=message.prompt_tokens,
        completion_tokens=message.completion_tokens,
        duration_ms=message.duration_ms,
        sibling_ids=tuple(s.id for s in siblings),
        meta=dict(message.meta or {}),
    )


def conversation_view(conv: Conversation, messages: Sequence[ChatMessage] = ()) -> ConversationView:
    kids = children_of(messages)
    path = path_to(messages, conv.current_leaf_id)
    return ConversationView(
        id=conv.id,
        title=conv.title,
        model=conv.model,
        system_prompt=conv.system_prompt,
        persona_id=conv.persona_id,
        params=dict(conv.params or {}),
        pinned=conv.pinned,
        archived=conv.archived,
        created_at=conv.created_at,
        updated_at=conv.updated_at,
        current_leaf_id=conv.current_leaf_id,
        messages=tuple(message_view(m, kids[m.parent_id]) for m in path),
    )


def clean_params(params: dict[str, Any] | None) -> dict[str, Any]:
    """The sampling keys that are set, and `tools`: the enabled chat tools (names checked)."""
    out = {k: v for k, v in (params or {}).items() if k in SAMPLING_KEYS and v is not None}
    tools = (params or {}).get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            raise InvalidRequestError("tools must be a list of tool names", param="params.tools")
        out["tools"] = check_names(tools, param="params.tools")
    return out


def owned_conversation(uow: Unit, user_id: str, conversation_id: str) -> Conversation:
    """The user's conversation, or a 404 (another user's is as absent as a missing one)."""
    conv = uow.conversations.get(user_id, conversation_id)
    if conv is None:
        raise NotFoundError("conversation not found", param="conversation_id")
    return conv


class Conversations:
    def __init__(self, db: Database, user_id: str) -> None:
        self.db, self.user_id = db, user_id

    def owned(self, uow: Unit, conversation_id: str) -> Conversation:
        return owned_conversation(uow, self.user_id, conversation_id)

    def create(
        self,
        *,
        title: str = "",
        model: str = "",
        system_prompt: str | None = None,
        persona_id: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> ConversationView:
        """`system_prompt` None takes the persona's; "" is no system prompt, even with one."""
        params = clean_params(params)
        with self.db.unit() as uow:
            if persona_id is not None:
                persona = uow.personas.get_visible(self.user_id, persona_id)
                if persona is None:
                    raise NotFoundError("persona not found", param="persona_id")
                if system_prompt is None:
                    system_prompt = persona.system_prompt
                model = model or persona.model or ""
                params = {**clean_params(persona.params), **params}
            conv = uow.conversations.create(
                self.user_id,
                title=title,
                model=model,
                system_prompt=system_prompt or "",
                persona_id=persona_id,
                params=params,
            )
            uow.commit()
            return conversation_view(conv)

    def list(
        self, *, archived: bool = False, limit: int = 50, offset: int = 0
    ) -> tuple[list[ConversationView], int]:
        with self.db.unit() as uow:
            rows, total = uow.conversations.list(
                self.user_id, archived=archived, limit=limit, offset=offset
            )
            return [conversation_view(c) for c in rows], total

    def view(self, conversation_id: str) -> ConversationView:
        with self.db.unit() as uow:
            conv = self.owned(uow, conversation_id)
            return conversation_view(conv, uow.messages.all_in(conv.id))

    def update(self, conversation_id: str, **changes: Any) -> ConversationView:
        with self.db.unit() as uow:
            conv = self.owned(uow, conversation_id)
            for key in ("title", "pinned", "archived", "model", "system_prompt"):
                if changes.get(key) is not None:
                    setattr(conv, key, changes[key])
            if changes.get("params") is not None:
                conv.params = clean_params({**(conv.params or {}), **changes["params"]})
            uow.conversations.touch(conv)
            uow.commit()
            return conversation_view(conv, uow.messages.all_in(conv.id))

    def delete(self, conversation_id: str) -> None:
        with self.db.unit() as uow:
            uow.conversations.delete(self.owned(uow, conversation_id))
            uow.commit()

    def switch(self, conversation_id: str, message_id: str) -> ConversationView:
        """Make the active path go through `message_id` (down to its latest leaf)."""
        with self.db.unit() as uow:
            conv = self.owned(uow, conversation_id)
            messages = uow.messages.all_in(conv.id)
            if not any(m.id == message_id for m in messages):
                raise NotFoundError("message not found", param="message_id")
            conv.current_leaf_id = deepest_latest(messages, message_id)
            uow.commit()
            return conversation_view(conv, messages)
