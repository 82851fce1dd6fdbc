"""Titling a conversation with answers (SQLite and PostgreSQL, scripted engine): a
conversation without a title gets one from its next complete exchange, whatever came
before; a failed or stopped answer titles it with the question's first words; a title the
user set (even while an answer streams) is never replaced."""

from __future__ import annotations

import asyncio

from causerie.chat.conversations import Conversations
from causerie.chat.replies import ChatEvent, Replies
from causerie.store.db import Database
from tests.chat.test_toolloop import ScriptsEngine, collect, setup

QUESTION = "What is the tallest mountain in the Alps, and how tall is it?"
FALLBACK = "What is the tallest mountain in"


def _title(db: Database, user_id: str, conv: str) -> str:
    return Conversations(db, user_id).view(conv).title


async def _stop_after_first_delta(replies: Replies, conv: str, question: str) -> None:
    """Stream an answer and leave after its first token, as a stopping client does."""
    seen = asyncio.Event()

    async def consume() -> None:
        async for event in replies.send(conv, question):
            if event.kind == "delta":
                seen.set()

    task = asyncio.ensure_future(consume())
    await asyncio.wait_for(seen.wait(), 10)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def test_a_stopped_first_answer_titles_the_conversation_with_the_question(db: Database) -> None:
    engine = ScriptsEngine(["Mont", " Blanc", ", 4808 m."], delay=0.2)
    user_id, conv = setup(db, [])
    asyncio.run(_stop_after_first_delta(Replies(db, engine, user_id), conv, QUESTION))
    assert _title(db, user_id, conv) == FALLBACK
    answer = Conversations(db, user_id).view(conv).messages[-1]
    assert answer.status == "interrupted" and answer.content == "Mont"
    # the next complete exchange keeps that title (no second title request)
    engine.delay = 0.0
    events = asyncio.run(collect(Replies(db, engine, user_id).send(conv, "And the second?")))
    assert "title" not in [e.kind for e in events]
    assert _title(db, user_id, conv) == FALLBACK and len(engine.requests) == 2


def test_a_failed_first_answer_titles_the_conversation_with_the_question(db: Database) -> None:
    engine = ScriptsEngine(["Mont", " Blanc", "."])
    engine.fail_at = 0
    user_id, conv = setup(db, [])
    events = asyncio.run(collect(Replies(db, engine, user_id).send(conv, QUESTION)))
    assert [e.kind for e in events][-2:] == ["title", "error"]
    assert events[-2].data == {"title": FALLBACK} and _title(db, user_id, conv) == FALLBACK


def test_an_untitled_conversation_is_titled_by_its_next_complete_exchange(db: Database) -> None:
    """A first exchange left without a title (here: cut by a server that stopped, as the
    recovery leaves it) does not keep the conversation untitled for ever."""
    user_id, conv = setup(db, [])
    with db.unit() as uow:
        c = uow.conversations.get(user_id, conv)
        assert c is not None
        asked = uow.messages.add(c, parent_id=None, role="user", content=QUESTION)
        cut = uow.messages.add(
            c, parent_id=asked.id, role="assistant", status="interrupted", content="Mont"
        )
        c.current_leaf_id = cut.id
        uow.commit()
    engine = ScriptsEngine(["It is 4808 m."])
    events = asyncio.run(collect(Replies(db, engine, user_id).send(conv, "How tall?")))
    assert [e.kind for e in events][-2:] == ["title", "done"]
    assert events[-2].data == {"title": "Sums"} and _title(db, user_id, conv) == "Sums"


def test_a_title_the_user_set_is_never_replaced(db: Database) -> None:
    engine = ScriptsEngine(["Mont", " Blanc", "."], delay=0.2)
    user_id, conv = setup(db, [])
    convs = Conversations(db, user_id)

    async def renamed_while_streaming(title: str, stop: bool) -> list[ChatEvent]:
        events: list[ChatEvent] = []
        async for event in Replies(db, engine, user_id).send(conv, QUESTION):
            events.append(event)
            if event.kind == "delta":
                await asyncio.to_thread(convs.update, conv, title=title)
                if stop:
                    break  # the client leaves: the stream is closed here
        return events

    events = asyncio.run(renamed_while_streaming("Mine", stop=False))
    assert events[-1].kind == "done" and "title" not in [e.kind for e in events]
    assert _title(db, user_id, conv) == "Mine"

    convs.update(conv, title="")  # untitled again, then renamed while a stopped answer streams
    asyncio.run(renamed_while_streaming("Mine again", stop=True))
    assert _title(db, user_id, conv) == "Mine again"
