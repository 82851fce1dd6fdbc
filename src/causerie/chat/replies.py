"""Answering in a conversation: persist the user's message, stream the model's answer and
persist it while it streams (`streaming` -> `complete` | `interrupted` | `error`).

The answer row is committed before the first token, updated at most every
`SAVE_EVERY` seconds, and always closed: a client that leaves or a server that stops
leaves it `interrupted` with the text so far; a crash is repaired at the next start.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

from causerie.chat.attachments import scope
from causerie.chat.attribution import attribute
from causerie.chat.conversations import Conversations, message_view
from causerie.chat.grounding import ground, grounded, token_counter
from causerie.chat.titles import fallback_title, make_title
from causerie.chat.toolcalls import ToolCallStream
from causerie.chat.toolloop import (
    ToolPlan,
    ToolRound,
    call_dict,
    history_message,
    tool_plan,
)
from causerie.chat.toolloop import shown_text as _shown
from causerie.chat.tools import ToolContext, check_names, run_call
from causerie.chat.tools.clock import valid_zone
from causerie.chat.tree import path_to
from causerie.chat.views import MessageView
from causerie.core.errors import CauserieError, InvalidRequestError, NotFoundError
from causerie.core.types import (
    GenerationRequest,
    Message,
    SamplingParams,
    ToolCall,
    Usage,
)
from causerie.engine.base import Embedder, Engine
from causerie.store.db import Database

log = logging.getLogger("causerie.chat")
SAVE_EVERY = 0.5  # seconds between progress writes of a streaming answer
HEARTBEAT_S = 5.0  # a progress write while no token comes (queued, a slow first token)


@dataclass(frozen=True)
class ChatEvent:
    """What the API streams: `start`, `delta`, `title`, `done` or `error`."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Answer:
    conversation_id: str
    message_id: str
    model: str
    history: list[Message]
    params: SamplingParams
    untitled: bool  # its conversation has no title yet: this answer gives it one
    start: dict[str, Any] = field(default_factory=dict)
    text: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    tools: ToolPlan = field(default_factory=ToolPlan)
    timezone: str = "UTC"  # the user's, for tools
    passages: tuple[str, ...] = ()  # of its sources, in order: [1] is passages[0]
    question: str = ""  # the user turn it answers, as asked
    meta: dict[str, Any] = field(default_factory=dict)  # as stored with the answer
    # the final save closes the row: a progress write still in a thread afterwards is dropped
    lock: threading.Lock = field(default_factory=threading.Lock)
    closed: bool = False
    usage: Usage = field(default_factory=Usage)  # the engine's figures, once it gave them
    saved_at: float = field(default_factory=time.monotonic)  # its row's last write


class Replies:
    """Reply, regenerate and edit for one user."""

    def __init__(
        self,
        db: Database,
        engine: Engine,
        user_id: str,
        instructions: str = "",
        embedder: Embedder | None = None,
    ) -> None:
        self.db, self.engine, self.user_id = db, engine, user_id
        self.instructions = instructions.strip()
        self.embedder = embedder  # dense retrieval for grounding and the documents tool

    # --- entry points -----------------------------------------------------------------
    def send(
        self,
        conversation_id: str,
        content: str,
        parent_id: str | None = None,
        *,
        use_leaf: bool = True,
        tool: str | None = None,
        timezone: str | None = None,
    ) -> AsyncIterator[ChatEvent]:
        """A new user message (a new branch when `parent_id` is an older message);
        `tool` names a tool the answer must call first; `timezone` is the user's (tools
        use UTC when it is unknown to this system)."""
        if not content.strip():
            raise InvalidRequestError("the message is empty", param="content")
        if tool is not None:
            check_names([tool], param="tool")
        answer = self._prepare(
            conversation_id, content=content, parent_id=parent_id, use_leaf=use_leaf, tool=tool
        )
        answer.timezone = timezone if timezone and valid_zone(timezone) else "UTC"
        return self._stream(answer)

    def regenerate(self, conversation_id: str, message_id: str) -> AsyncIterator[ChatEvent]:
        """A new answer beside `message_id` (an assistant message), from the same prompt."""
        return self._stream(self._prepare(conversation_id, regenerate=message_id))

    # --- preparation (one transaction, acknowledged before streaming) -------------------
    def _prepare(
        self,
        conversation_id: str,
        *,
        content: str | None = None,
        parent_id: str | None = None,
        use_leaf: bool = True,
        regenerate: str | None = None,
        tool: str | None = None,
    ) -> _Answer:
        convs = Conversations(self.db, self.user_id)
        with self.db.unit() as uow:
            conv = convs.owned(uow, conversation_id)
            messages = list(uow.messages.all_in(conv.id))
            by_id = {m.id: m for m in messages}
            if regenerate is not None:
                target = by_id.get(regenerate)
                if target is None or target.role != "assistant" or target.parent_id is None:
                    raise NotFoundError("no assistant message to regenerate", param="message_id")
                path = path_to(messages, target.parent_id)
            else:
                if parent_id is None and use_leaf:
                    parent_id = conv.current_leaf_id
                if parent_id is not None and parent_id not in by_id:
                    raise NotFoundError("parent message not found", param="parent_id")
                path = path_to(messages, parent_id)
            model = conv.model or self.engine.models()[0].id
            history = self._history(conv.system_prompt, path)
            if regenerate is None:  # the new question: written below, after the grounding
                history.append(Message("user", content or ""))
            untitled = not conv.title
            question = next((m.content for m in reversed(history) if m.role == "user"), "")
            params = self._params(conv.params or {})
            sources: list[dict[str, Any]] = []
            passages: tuple[str, ...] = ()
            documents = scope(uow, self.user_id, conv)
            # grounding (embedding, retrieval, token counts) runs before this unit writes
            # anything: on SQLite a write would hold the database's one write lock meanwhile
            if documents is not None:
                found = ground(
                    self.db,
                    self.user_id,
                    documents,
                    history,
                    self._context(model),
                    params.max_tokens,
                    token_counter(self.engine, model, params),
                    self.embedder,
                )
                if found is not None:
                    history, sources = grounded(history, found), found.sources()
                    passages = tuple(p.text for p in found.passages)
            if regenerate is not None:
                prompt_leaf = path[-1]
            else:
                prompt_leaf = uow.messages.add(
                    conv, parent_id=parent_id, role="user", content=content or ""
                )
            reply = uow.messages.add(
                conv,
                parent_id=prompt_leaf.id,
                role="assistant",
                status="streaming",
                model=model,
                meta={"sources": sources} if sources else {},
            )
            conv.current_leaf_id = reply.id
            uow.conversations.touch(conv)
            uow.commit()
            start = {
                "conversation_id": conv.id,
                "user_message": message_view(prompt_leaf),
                "assistant_message": message_view(reply),
                "sources": sources,
            }
            answer = _Answer(conv.id, reply.id, model, history, params, untitled, start)
            answer.passages, answer.meta = passages, dict(reply.meta or {})
            answer.question = question
            answer.tools = tool_plan(conv.params, tool)
            return answer

    def _history(self, system_prompt: str, path: list[Any]) -> list[Message]:
        system = "\n\n".join(p for p in (system_prompt.strip(), self.instructions) if p)
        history = [Message("system", system)] if system else []
        for m in path:
            message = history_message(m)  # user, assistant (with its tool calls), tool
            if message is not None:
                history.append(message)
        return history

    def _context(self, model: str) -> int:
        """The context length of `model` (of the first model when it is not listed)."""
        infos = list(self.engine.models())
        info = next((m for m in infos if model == m.id or model in m.aliases), infos[0])
        return info.context_length

    @staticmethod
    def _params(raw: dict[str, Any]) -> SamplingParams:
        return SamplingParams(
            temperature=float(raw.get("temperature", 0.7)),
            top_p=float(raw.get("top_p", 1.0)),
            max_tokens=int(raw["max_tokens"]) if raw.get("max_tokens") else None,
        )

    # --- streaming ------------------------------------------------------------------------
    async def _stream(self, answer: _Answer) -> AsyncIterator[ChatEvent]:
        """Stream one answer (see `_rounds`) and title its conversation while it has no
        title: once the answer is complete, with the title the model writes (a `title`
        event before `done`); when it failed or was stopped (or its client left), with the
        first words of the question, so no conversation stays untitled. A title set
        meanwhile (a rename) is never replaced."""
        titled = not answer.untitled
        text: list[str] = []  # of the answer's last round, which the title sums up
        try:
            async with aclosing(self._rounds(answer)) as events:
                async for event in events:
                    if event.kind == "delta":
                        text.append(event.data["text"])
                    elif event.kind == "continue":
                        text.clear()
                    elif event.kind in ("done", "error") and not titled:
                        if event.kind == "done" and event.data["status"] == "complete":
                            title = await make_title(self.engine, answer.question, "".join(text))
                        else:
                            title = fallback_title(answer.question)
                        titled = True
                        if await asyncio.to_thread(self._set_title, answer, title):
                            yield ChatEvent("title", {"title": title})
                    yield event
        finally:
            if not titled:  # stopped: synchronous, as this runs while the task is cancelled
                self._set_title(answer, fallback_title(answer.question))

    async def _rounds(self, answer: _Answer) -> AsyncGenerator[ChatEvent, None]:
        """Stream one answer; while it calls tools, run them (see toolloop.py), record the
        results and stream the continuation, up to MAX_ROUNDS rounds."""
        yield ChatEvent("start", answer.start)
        first, total, opening = answer, Usage(), None
        context = ToolContext(self.db, self.user_id, answer.timezone, self.embedder)
        round_ = 0
        while True:
            status, usage, failed = "interrupted", Usage(), False
            error: str | None = "the answer was stopped"
            ending: dict[str, Any] = {}  # kept in its meta: a cut at the limit, an error's code
            specs = answer.tools.specs(round_)
            parser = ToolCallStream() if specs else None
            calls: list[ToolCall] = []
            keepalive = asyncio.create_task(self._keep_alive(answer))
            try:
                if opening is not None:
                    yield opening
                request = GenerationRequest(
                    model=answer.model,
                    params=answer.tools.params(answer.params, round_),
                    messages=tuple(answer.history),
                    tools=specs,
                    affinity_key=answer.conversation_id,
                )
                stream = await self.engine.submit(request)
                try:
                    async for event in stream:
                        for text in _shown(parser, event.text, event.finish_reason is not None):
                            answer.text.append(text)
                            yield ChatEvent("delta", {"text": text})
                        if event.finish_reason is not None:
                            usage = answer.usage = event.usage or usage
                            if event.finish_reason in ("stop", "length"):
                                status, error = "complete", None
                                if event.finish_reason == "length":
                                    ending["finish_reason"] = "length"
                            elif event.finish_reason == "error":  # mid-answer: keep the text
                                status, error = "interrupted", event.error or "the engine failed"
                                failed = True
                            else:
                                error = event.error or "the answer was stopped"
                        if time.monotonic() - answer.saved_at >= SAVE_EVERY:
                            await asyncio.to_thread(self._save, answer, "streaming", None, usage)
                finally:
                    await stream.aclose()
                calls = list(parser.calls) if parser is not None and status == "complete" else []
                if calls:  # what the answer said besides its calls
                    answer.text[:] = ["".join(answer.text).strip()]
            except CauserieError as exc:
                status, error = "error", exc.message
                if exc.code:
                    ending["error_code"] = exc.code
            finally:
                keepalive.cancel()
                # synchronous on purpose: this must run even while the task is being cancelled
                meta = _closing_meta(answer, status, calls, ending)
                self._save(answer, status, error, usage, meta)
            total = Usage(
                total.prompt_tokens + usage.prompt_tokens,
                total.completion_tokens + usage.completion_tokens,
            )
            if not calls:
                break
            tool_round = ToolRound(
                self.db, self.user_id, answer.conversation_id, answer.message_id, answer.model
            )
            try:
                for call in calls:
                    yield ChatEvent(
                        "tool_call", {"message_id": answer.message_id, "call": call_dict(call)}
                    )
                    result = await run_call(call, context)
                    yield ChatEvent("tool_result", {"message": tool_round.record(call, result)})
                following = tool_round.continuation(_grounding(answer))
            except CauserieError as exc:  # e.g. the conversation was deleted meanwhile
                status, error = "error", exc.message
                break
            finally:
                tool_round.close(calls)
            said = Message("assistant", "".join(answer.text), tool_calls=tuple(calls))
            answer = _continued(answer, following, [said, *tool_round.messages])
            opening = ChatEvent(
                "continue",
                {"assistant_message": following, "sources": answer.meta.get("sources", [])},
            )
            round_ += 1
        done: dict[str, Any] = {"status": status, "error": error, "message_id": answer.message_id}
        done.update(ending)
        if "citations" in answer.meta:
            done["citations"] = answer.meta["citations"]
        done["usage"] = {
            "prompt_tokens": total.prompt_tokens,
            "completion_tokens": total.completion_tokens,
        }
        done["duration_ms"] = int((time.monotonic() - first.started) * 1000)
        if status == "error" or failed:
            yield ChatEvent("error", done)
            return
        yield ChatEvent("done", done)

    async def _keep_alive(self, answer: _Answer) -> None:
        """While the answer is open, a progress write whenever none came for HEARTBEAT_S
        (queued, a slow first token): recovery.py takes a silent answer for a dead
        process's. Runs beside the token loop, which it never touches."""
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            if time.monotonic() - answer.saved_at >= HEARTBEAT_S:
                await asyncio.to_thread(self._save, answer, "streaming", None, answer.usage)

    def _save(
        self,
        answer: _Answer,
        status: str,
        error: str | None,
        usage: Usage,
        meta: dict[str, Any] | None = None,
    ) -> None:
        fields: dict[str, Any] = {"meta": meta} if meta is not None else {}
        with answer.lock, self.db.unit() as uow:
            if answer.closed:
                return
            answer.closed = status != "streaming"
            uow.messages.save_progress(
                answer.message_id,
                "".join(answer.text),
                status=status,
                error=error,
                prompt_tokens=usage.prompt_tokens,
                completion_tokens=usage.completion_tokens,
                duration_ms=int((time.monotonic() - answer.started) * 1000),
                **fields,
            )
            uow.commit()
            answer.saved_at = time.monotonic()

    def _set_title(self, answer: _Answer, title: str) -> bool:
        """Give the answer's conversation `title` unless it has one (set by a rename
        meanwhile) or `title` is empty; whether it did."""
        if not title:
            return False
        with self.db.unit() as uow:
            conv = uow.conversations.get(self.user_id, answer.conversation_id)
            if conv is None or conv.title:
                return False
            conv.title = title
            uow.commit()
            return True


def _grounding(answer: _Answer) -> dict[str, Any]:
    """What an answer's continuation starts its meta with: the sources it answers from."""
    return {"sources": answer.meta["sources"]} if answer.meta.get("sources") else {}


def _continued(answer: _Answer, row: MessageView, round_: list[Message]) -> _Answer:
    """The answer after a tool round (`round_`: the calls said, then their results), in
    `row` (made with `_grounding`): same prompt, tools and passages, so it is cited like
    the first."""
    return _Answer(
        answer.conversation_id, row.id, answer.model, [*answer.history, *round_],
        answer.params, False, tools=answer.tools, timezone=answer.timezone,
        passages=answer.passages, question=answer.question, meta=dict(row.meta),
    )  # fmt: skip


def _closing_meta(
    answer: _Answer, status: str, calls: list[ToolCall], ending: dict[str, Any]
) -> dict[str, Any] | None:
    """The meta an answer is closed with: its tool calls; for a grounded answer, also its
    sources and, once complete without calls, which sentences they support; and `ending`:
    `finish_reason: length` for an answer cut at its length limit, `error_code` for a
    failure that has one (e.g. `context_length_exceeded`). None: the meta stays as it is."""
    meta = {"tool_calls": [call_dict(c) for c in calls]} if calls else None
    if answer.meta.get("sources") and (meta is not None or status == "complete"):
        meta = {**answer.meta, **(meta or {})}
        if status == "complete" and not calls:
            text = "".join(answer.text)
            try:  # never in the way of closing the answer
                meta["citations"] = attribute(text, answer.passages, answer.question)
            except Exception:
                log.exception("attributing the answer %s failed", answer.message_id)
        answer.meta = meta
    if ending:
        meta = answer.meta = {**answer.meta, **(meta or {}), **ending}
    return meta
