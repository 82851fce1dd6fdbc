"""The tool loop of an answer with a scripted engine (SQLite and PostgreSQL): a call is
recorded, run, answered by a `tool` message and followed by the final answer; forced tools
constrain the first round only; history carries calls and results; stops and failures
leave every row closed; at most MAX_ROUNDS rounds; regenerate still works."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from causerie.chat.conversations import Conversations
from causerie.chat.replies import ChatEvent, Replies
from causerie.chat.titles import INSTRUCTION
from causerie.chat.toolloop import INTERRUPTED, MAX_ROUNDS
from causerie.core.errors import InvalidRequestError
from causerie.core.types import GenerationRequest
from causerie.store.db import Database
from tests.support.fake_engine import ScriptedEngine, ScriptedStream

CALL = '<tool_call>\n{"name": "calculator", "arguments": {"expression": "6 * 7"}}\n</tool_call>'


class ScriptsEngine(ScriptedEngine):
    """One script of pieces per answer request, in order; titles answer 'Sums'."""

    def __init__(self, *scripts: Sequence[str], delay: float = 0.0) -> None:
        super().__init__(delay=delay)
        self.scripts = [list(s) for s in scripts]
        self.fail_at: int | None = None  # the answer request that fails (engine error)

    @property
    def answers(self) -> list[GenerationRequest]:
        return [r for r in self.requests if not _is_title(r)]

    async def submit(self, request: GenerationRequest) -> ScriptedStream:
        self.requests.append(request)
        if _is_title(request):
            return ScriptedStream(["Sums"], 0.0, None)
        index = len(self.answers) - 1
        pieces = self.scripts[min(index, len(self.scripts) - 1)]
        fail = "the engine broke" if index == self.fail_at else None
        return ScriptedStream(pieces, self.delay, fail)


def _is_title(request: GenerationRequest) -> bool:
    return bool(request.messages) and request.messages[0].content == INSTRUCTION  # type: ignore[index]


def setup(db: Database, tools: list[str]) -> tuple[str, str]:
    with db.unit() as uow:
        user = uow.users.add(email="t@example.org", password_hash="x")
        uow.commit()
        user_id = user.id
    conv = Conversations(db, user_id).create(params={"tools": tools, "temperature": 0})
    return user_id, conv.id


async def collect(events: AsyncIterator[ChatEvent]) -> list[ChatEvent]:
    return [e async for e in events]


def path(db: Database, user_id: str, conv_id: str) -> list[Any]:
    return list(Conversations(db, user_id).view(conv_id).messages)


def test_call_result_and_final_answer_are_persisted(db: Database) -> None:
    engine = ScriptsEngine(["Let me compute. ", CALL[:20], CALL[20:]], ["It is ", "42."])
    user_id, conv = setup(db, ["calculator", "datetime"])
    events = asyncio.run(collect(Replies(db, engine, user_id).send(conv, "What is 6*7?")))
    kinds = [e.kind for e in events]
    assert kinds[:3] == ["start", "delta", "tool_call"]
    assert kinds[3:5] == ["tool_result", "continue"] and kinds[-2:] == ["title", "done"]
    assert (
        "".join(e.data["text"] for e in events if e.kind == "delta") == "Let me compute. It is 42."
    )
    call = events[2].data["call"]
    assert call["name"] == "calculator" and json.loads(call["arguments"]) == {"expression": "6 * 7"}

    messages = path(db, user_id, conv)
    assert [m.role for m in messages] == ["user", "assistant", "tool", "assistant"]
    asked, result, final = messages[1], messages[2], messages[3]
    assert asked.status == "complete" and asked.content == "Let me compute."
    assert asked.meta["tool_calls"] == [call]
    assert result.content == "6 * 7 = 42" and result.status == "complete"
    assert result.meta == {"tool_call_id": call["id"], "name": "calculator",
                           "arguments": call["arguments"]}  # fmt: skip
    assert final.content == "It is 42." and final.status == "complete"
    assert final.parent_id == result.id and result.parent_id == asked.id
    assert events[-1].data["message_id"] == final.id
    assert Conversations(db, user_id).view(conv).current_leaf_id == final.id
    assert events[4].data["assistant_message"].id == final.id

    first, second = engine.answers
    assert [t.name for t in first.tools] == ["calculator", "datetime"]
    assert first.params.output_format is None
    said, answered = second.messages[-2], second.messages[-1]  # type: ignore[index]
    assert said.role == "assistant" and [c.id for c in said.tool_calls] == [call["id"]]
    assert answered.role == "tool" and answered.tool_call_id == call["id"]
    assert answered.content == "6 * 7 = 42"

    # a later turn sees the calls and results of the earlier one
    engine.scripts = [["Fine."]]
    asyncio.run(collect(Replies(db, engine, user_id).send(conv, "Thanks")))
    history = engine.answers[-1].messages or ()
    assert [m.role for m in history] == ["user", "assistant", "tool", "assistant", "user"]
    assert history[1].tool_calls and history[2].tool_call_id == call["id"]


def test_forced_tool_constrains_the_first_round_only(db: Database) -> None:
    engine = ScriptsEngine([CALL], ["Done."])
    user_id, conv = setup(db, [])
    events = asyncio.run(
        collect(Replies(db, engine, user_id).send(conv, "six times seven", tool="calculator"))
    )
    assert [e.kind for e in events if e.kind.startswith("tool")] == ["tool_call", "tool_result"]
    first, second = engine.answers
    fmt = first.params.output_format
    assert fmt is not None and fmt.prefix.startswith("<tool_call>") and fmt.max_count == 1
    assert json.loads(fmt.schema)["properties"]["name"] == {"const": "calculator"}
    assert [t.name for t in first.tools] == ["calculator"]
    assert second.params.output_format is None and [t.name for t in second.tools] == ["calculator"]
    with pytest.raises(InvalidRequestError) as caught:
        Replies(db, engine, user_id).send(conv, "hi", tool="rm -rf")
    assert caught.value.param == "tool"
    assert len(path(db, user_id, conv)) == 4  # the refused message was not stored


def test_without_tools_calls_are_plain_text(db: Database) -> None:
    engine = ScriptsEngine([CALL])
    user_id, conv = setup(db, [])
    asyncio.run(collect(Replies(db, engine, user_id).send(conv, "hi")))
    assert engine.answers[0].tools == ()
    messages = path(db, user_id, conv)
    assert [m.role for m in messages] == ["user", "assistant"]
    assert "<tool_call>" in messages[1].content and not messages[1].meta


def test_rounds_are_bounded(db: Database) -> None:
    engine = ScriptsEngine([CALL])  # it calls the tool every time it may
    user_id, conv = setup(db, ["calculator"])
    events = asyncio.run(collect(Replies(db, engine, user_id).send(conv, "loop")))
    assert sum(e.kind == "tool_result" for e in events) == MAX_ROUNDS
    assert len(engine.answers) == MAX_ROUNDS + 1 and engine.answers[-1].tools == ()
    roles = [m.role for m in path(db, user_id, conv)]
    assert roles == ["user", *(["assistant", "tool"] * MAX_ROUNDS), "assistant"]
    assert events[-1].kind == "done" and events[-1].data["status"] == "complete"


@pytest.mark.parametrize("stop_after", ["tool_call", "continue", "delta2"])
def test_a_stop_mid_loop_leaves_every_row_closed(db: Database, stop_after: str) -> None:
    engine = ScriptsEngine([CALL], ["It ", "is ", "42."], delay=0.01)
    user_id, conv = setup(db, ["calculator"])

    async def stop() -> None:
        deltas = 0
        events = Replies(db, engine, user_id).send(conv, "compute")
        async for event in events:
            deltas += event.kind == "delta"
            if event.kind == stop_after or (stop_after == "delta2" and deltas == 2):
                break
        await events.aclose()  # type: ignore[attr-defined]

    asyncio.run(stop())
    messages = path(db, user_id, conv)
    assert all(m.status != "streaming" for m in messages), [(m.role, m.status) for m in messages]
    assert [m.role for m in messages][:3] == ["user", "assistant", "tool"]
    if stop_after == "tool_call":
        assert messages[2].status == "interrupted" and messages[2].content == INTERRUPTED
        assert len(messages) == 3
    else:
        assert messages[2].status == "complete" and messages[3].status == "interrupted"


def test_an_engine_error_in_the_continuation_is_recorded(db: Database) -> None:
    engine = ScriptsEngine([CALL], ["It ", "is ", "42."])
    engine.fail_at = 1
    user_id, conv = setup(db, ["calculator"])
    events = asyncio.run(collect(Replies(db, engine, user_id).send(conv, "compute")))
    assert events[-1].kind == "error" and events[-1].data["error"] == "the engine broke"
    messages = path(db, user_id, conv)
    assert [m.status for m in messages] == ["complete", "complete", "complete", "interrupted"]


def test_a_bad_call_comes_back_as_a_result(db: Database) -> None:
    bad = '<tool_call>{"name": "calculator", "arguments": {"expression": "9**9**9"}}</tool_call>'
    unknown = '<tool_call>{"name": "shell", "arguments": {"cmd": "id"}}</tool_call>'
    engine = ScriptsEngine([bad + unknown], ["Sorry."])
    user_id, conv = setup(db, ["calculator"])
    asyncio.run(collect(Replies(db, engine, user_id).send(conv, "compute")))
    messages = path(db, user_id, conv)
    assert [m.role for m in messages] == ["user", "assistant", "tool", "tool", "assistant"]
    assert messages[2].content.startswith("error: exponents above")
    assert messages[3].content.startswith("error: there is no tool named 'shell'")
    assert len(messages[1].meta["tool_calls"]) == 2 and messages[4].content == "Sorry."


def test_regenerate_the_final_answer(db: Database) -> None:
    engine = ScriptsEngine([CALL], ["It is 42."])
    user_id, conv = setup(db, ["calculator"])
    asyncio.run(collect(Replies(db, engine, user_id).send(conv, "compute")))
    final = path(db, user_id, conv)[-1]
    engine.scripts = [["Forty-two."]]
    events = asyncio.run(collect(Replies(db, engine, user_id).regenerate(conv, final.id)))
    assert events[-1].kind == "done"
    messages = path(db, user_id, conv)
    assert messages[-1].content == "Forty-two." and messages[-1].parent_id == final.parent_id
    assert messages[-1].sibling_ids == (final.id, messages[-1].id)
    history = engine.answers[-1].messages or ()
    assert [m.role for m in history][-3:] == ["user", "assistant", "tool"]


def test_conversation_tools_are_validated(db: Database) -> None:
    user_id, conv = setup(db, ["python"])
    convs = Conversations(db, user_id)
    assert convs.view(conv).params["tools"] == ["python"]
    updated = convs.update(conv, params={"tools": ["documents", "calculator"]})
    assert updated.params == {"temperature": 0, "tools": ["documents", "calculator"]}
    with pytest.raises(InvalidRequestError) as caught:
        convs.update(conv, params={"tools": ["documents", "format_disk"]})
    assert caught.value.param == "params.tools"
    with pytest.raises(InvalidRequestError):
        convs.update(conv, params={"tools": "calculator"})
    assert convs.update(conv, params={"tools": []}).params["tools"] == []


def test_a_conversation_deleted_during_a_tool_run_ends_the_answer(db: Database) -> None:
    engine = ScriptsEngine([CALL], ["never"])
    user_id, conv = setup(db, ["calculator"])

    async def delete_midway() -> list[ChatEvent]:
        out = []
        async for event in Replies(db, engine, user_id).send(conv, "compute"):
            out.append(event)
            if event.kind == "tool_call":
                Conversations(db, user_id).delete(conv)
        return out

    events = asyncio.run(delete_midway())
    assert events[-1].kind == "error" and events[-1].data["error"] == "conversation not found"
    assert len(engine.answers) == 1


def test_the_users_time_zone_reaches_the_tools(db: Database) -> None:
    clock = '<tool_call>{"name": "datetime", "arguments": {}}</tool_call>'
    engine = ScriptsEngine([clock], ["Noted."])
    user_id, conv = setup(db, ["datetime"])
    replies = Replies(db, engine, user_id)
    asyncio.run(collect(replies.send(conv, "time?", timezone="Asia/Kolkata")))
    assert "UTC+0530" in path(db, user_id, conv)[2].content
    engine.requests.clear()
    asyncio.run(collect(replies.send(conv, "and now?", timezone="Nowhere/Atlantis")))
    assert "UTC+0000" in path(db, user_id, conv)[-2].content  # unknown: UTC
