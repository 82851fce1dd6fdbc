"""Tools inside an answer (used by replies.py): which tools a conversation offers, what a
stored message looks like in the model's history, and `ToolRound`, which records one
round's results as `tool` messages and opens the continuation answer.

Rows are never left `streaming` by a round: results are written `complete` when ready,
calls that never ran are written `interrupted` by `close()`, and the continuation row is
handed to the caller's streaming code, which closes it like any answer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from causerie.chat.conversations import message_view, owned_conversation
from causerie.chat.toolcalls import ToolCallStream, forced_calls
from causerie.chat.tools import TOOLS, tool_spec
from causerie.chat.views import MessageView
from causerie.core.errors import NotFoundError
from causerie.core.types import Message, SamplingParams, ToolCall, ToolSpec
from causerie.store.db import Database

MAX_ROUNDS = 4  # rounds of tool calls in one answer; the next generation has no tools
INTERRUPTED = "error: the tool did not run (the answer was stopped)"


@dataclass(frozen=True, slots=True)
class ToolPlan:
    """The tools an answer offers (`names`) and the one forced on its first round."""

    names: tuple[str, ...] = ()
    forced: str | None = None

    def specs(self, round_: int) -> tuple[ToolSpec, ...]:
        if round_ >= MAX_ROUNDS:
            return ()
        return tuple(tool_spec(TOOLS[n]) for n in self.names)

    def params(self, params: SamplingParams, round_: int) -> SamplingParams:
        """`params`, constrained to one call of the forced tool on the first round."""
        if round_ != 0 or self.forced is None:
            return params
        return replace(params, output_format=forced_calls([tool_spec(TOOLS[self.forced])], 1))


def conversation_tools(params: dict[str, Any] | None) -> list[str]:
    """The enabled tool names stored in a conversation's params (unknown ones dropped)."""
    raw = (params or {}).get("tools") or []
    return [n for n in raw if isinstance(n, str) and n in TOOLS] if isinstance(raw, list) else []


def tool_plan(params: dict[str, Any] | None, forced: str | None) -> ToolPlan:
    """The tools of a conversation (its `params`), plus a `forced` one (already checked)."""
    names = conversation_tools(params)
    if forced is not None and forced not in names:
        names.append(forced)
    return ToolPlan(tuple(names), forced)


def call_dict(call: ToolCall) -> dict[str, str]:
    return {"id": call.id, "name": call.name, "arguments": call.arguments}


def history_message(m: Any) -> Message | None:
    """How a stored message reads in the model's history (None: left out)."""
    meta = m.meta or {}
    if m.role == "tool":
        return Message(
            "tool", m.content, name=meta.get("name"), tool_call_id=str(meta.get("tool_call_id"))
        )
    calls = meta.get("tool_calls") if m.role == "assistant" else None
    if calls:
        return Message(
            "assistant",
            m.content,
            tool_calls=tuple(ToolCall(c["id"], c["name"], c["arguments"]) for c in calls),
        )
    if m.role in ("user", "assistant") and (m.content or m.role == "user"):
        return Message(m.role, m.content)
    return None


def shown_text(parser: ToolCallStream | None, text: str, last: bool) -> list[str]:
    """The text to show for a piece of an answer; calls are held in `parser.calls`. NUL
    characters are dropped: they show nothing, and the database cannot keep them."""
    text = text.replace("\x00", "")
    if parser is None:
        return [text] if text else []
    pieces = parser.feed(text)
    if last:
        pieces += parser.flush()
    return [p.text for p in pieces if p.call is None and p.text]


class ToolRound:
    """The `tool` messages answering `calls` (children in a chain under the assistant
    message), then the continuation answer under the last of them; the leaf follows."""

    def __init__(
        self, db: Database, user_id: str, conversation_id: str, parent_id: str, model: str
    ) -> None:
        self.db, self.user_id, self.conversation_id = db, user_id, conversation_id
        self.parent_id, self.model = parent_id, model
        self.done: set[str] = set()
        self.messages: list[Message] = []

    def record(self, call: ToolCall, result: str, status: str = "complete") -> MessageView:
        """Persist one result (synchronously: it must also run while being cancelled)."""
        meta = {"tool_call_id": call.id, "name": call.name, "arguments": call.arguments}
        with self.db.unit() as uow:
            conv = owned_conversation(uow, self.user_id, self.conversation_id)
            row = uow.messages.add(
                conv, parent_id=self.parent_id, role="tool", content=result, status=status,
                meta=meta,
            )  # fmt: skip
            conv.current_leaf_id = row.id
            uow.commit()
            self.parent_id = row.id
            self.done.add(call.id)
            self.messages.append(Message("tool", result, name=call.name, tool_call_id=call.id))
            return message_view(row)

    def close(self, calls: list[ToolCall]) -> None:
        """Every call that has no result yet gets an `interrupted` one."""
        for call in calls:
            if call.id not in self.done:
                try:
                    self.record(call, INTERRUPTED, status="interrupted")
                except NotFoundError:  # the conversation is gone: nothing left to close
                    return

    def continuation(self, meta: dict[str, Any] | None = None) -> MessageView:
        """The next answer's row (`streaming`, with `meta`), child of the last result: the
        caller must close it (its streaming code's `finally`)."""
        with self.db.unit() as uow:
            conv = owned_conversation(uow, self.user_id, self.conversation_id)
            row = uow.messages.add(
                conv, parent_id=self.parent_id, role="assistant", status="streaming",
                model=self.model, meta=meta or {},
            )  # fmt: skip
            conv.current_leaf_id = row.id
            uow.conversations.touch(conv)
            uow.commit()
            return message_view(row)
