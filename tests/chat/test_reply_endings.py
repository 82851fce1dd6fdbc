"""How an answer ended, as its row's meta and the final stream event tell the browser: an
answer cut at its length limit says so (`finish_reason: length`), one the engine refused
carries the error's code (`error_code`, e.g. `context_length_exceeded`); an answer that
ended normally carries neither (SQLite and PostgreSQL, scripted engine)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from causerie.chat.replies import Replies
from causerie.core.errors import ContextLengthExceededError
from causerie.core.types import GenerationRequest, StreamEvent, Usage
from causerie.store.db import Database
from tests.chat.test_toolloop import collect, path, setup
from tests.support.fake_engine import ScriptedEngine, ScriptedStream


class CutStream(ScriptedStream):
    """Streams its pieces, then ends at the length limit."""

    async def _events(self) -> AsyncIterator[StreamEvent]:
        for piece in self.pieces:
            yield StreamEvent(text=piece, token_count=1)
        yield StreamEvent(finish_reason="length", usage=Usage(5, len(self.pieces)))


class CuttingEngine(ScriptedEngine):
    async def submit(self, request: GenerationRequest) -> ScriptedStream:
        self.requests.append(request)
        return CutStream(self.pieces, 0.0, None)


class RefusingEngine(ScriptedEngine):
    async def submit(self, request: GenerationRequest) -> ScriptedStream:
        self.requests.append(request)
        raise ContextLengthExceededError(
            "This model's maximum context length is 1024 tokens; your prompt has 4000 tokens.",
            param="messages",
        )


def test_an_answer_cut_at_the_length_limit_says_so(db: Database) -> None:
    user_id, conv = setup(db, [])
    engine = CuttingEngine(["Once", " upon"])
    events = asyncio.run(collect(Replies(db, engine, user_id).send(conv, "a story")))
    done = events[-1]
    assert done.kind == "done" and done.data["status"] == "complete"
    assert done.data["finish_reason"] == "length"
    answer = path(db, user_id, conv)[-1]
    assert answer.status == "complete" and answer.content == "Once upon"
    assert answer.meta["finish_reason"] == "length"


def test_a_complete_answer_has_no_ending_mark(db: Database) -> None:
    user_id, conv = setup(db, [])
    events = asyncio.run(collect(Replies(db, ScriptedEngine(), user_id).send(conv, "hi")))
    done = events[-1]
    assert done.kind == "done" and "finish_reason" not in done.data
    assert "error_code" not in done.data
    answer = path(db, user_id, conv)[-1]
    assert answer.status == "complete" and answer.meta == {}


def test_a_refused_prompt_carries_the_error_code(db: Database) -> None:
    user_id, conv = setup(db, [])
    events = asyncio.run(collect(Replies(db, RefusingEngine(), user_id).send(conv, "long")))
    error = [e for e in events if e.kind == "error"]
    assert len(error) == 1 and error[0].data["status"] == "error"
    assert error[0].data["error_code"] == "context_length_exceeded"
    answer = path(db, user_id, conv)[-1]
    assert answer.status == "error" and answer.content == ""
    assert answer.error is not None and "maximum context length" in answer.error
    assert answer.meta["error_code"] == "context_length_exceeded"
