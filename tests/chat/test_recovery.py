"""Answers left `streaming`: only stale ones (no progress write for a while) are repaired,
so that answers another app process is streaming are left alone; the periodic task repairs
a dead process's answers. A replica failing mid-answer ends the chat stream with an error
event and leaves the message `interrupted`, its text kept."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest

from causerie.chat.conversations import Conversations
from causerie.chat.recovery import keep_recovering, recover_at_start, recover_interrupted
from causerie.chat.replies import Replies
from causerie.engine.router import ModelRoute, Replica, Router, RouterOptions
from causerie.store.db import Database
from causerie.store.tables import ChatMessage, utcnow
from tests.support.fake_engine import ScriptedEngine
from tests.support.postgres import (  # noqa: F401  (fixtures, registered by import)
    database_backend,
    migrated_database_url,
    postgres_cluster,
)


@pytest.fixture
def store(migrated_database_url: str) -> Iterator[Database]:  # noqa: F811
    database = Database(migrated_database_url)
    yield database
    database.close()


def _user(store: Database) -> str:
    with store.unit() as uow:
        user = uow.users.add(email="r@example.com", password_hash="x")
        uow.commit()
        return user.id


def _streaming(store: Database, user_id: str, age_s: float, duration_ms: int) -> str:
    conv = Conversations(store, user_id).create(title="t")
    with store.unit() as uow:
        c = uow.conversations.get(user_id, conv.id)
        assert c is not None
        msg = uow.messages.add(
            c, parent_id=None, role="assistant", status="streaming", content="partial",
            created_at=utcnow() - timedelta(seconds=age_s), duration_ms=duration_ms,
        )  # fmt: skip
        uow.commit()
        return msg.id


def _status(store: Database, message_id: str) -> tuple[str, str | None, str]:
    with store.unit() as uow:
        m = uow.session.get(ChatMessage, message_id)
        assert m is not None
        return m.status, m.error, m.content


def test_only_stale_streaming_answers_are_repaired(store: Database) -> None:
    user = _user(store)
    dead = _streaming(store, user, age_s=120, duration_ms=2_000)  # last write 118 s ago
    live = _streaming(store, user, age_s=120, duration_ms=119_000)  # last write 1 s ago
    fresh = _streaming(store, user, age_s=2, duration_ms=0)
    assert recover_interrupted(store, stale_after=30) == 1
    assert _status(store, dead)[:2] == ("interrupted", "the server stopped while answering")
    assert _status(store, dead)[2] == "partial"
    assert _status(store, live)[0] == "streaming"
    assert _status(store, fresh)[0] == "streaming"
    assert recover_interrupted(store, stale_after=0.5) == 2


def test_at_start_only_answers_making_no_progress_are_repaired(store: Database) -> None:
    user = _user(store)
    dead = _streaming(store, user, age_s=3, duration_ms=2_500)
    live = _streaming(store, user, age_s=3, duration_ms=2_500)  # another process streams it
    stop = threading.Event()

    def progress() -> None:
        ms = 2_500
        while not stop.wait(0.2):
            ms += 200
            with store.unit() as uow:
                uow.messages.save_progress(live, "more", status="streaming", duration_ms=ms)
                uow.commit()

    writer = threading.Thread(target=progress)
    writer.start()
    try:
        assert recover_at_start(store, watch=0.8) == 1
    finally:
        stop.set()
        writer.join()
    assert _status(store, dead)[0] == "interrupted"
    assert _status(store, live)[0] == "streaming"
    assert recover_at_start(store, watch=0.1) == 1  # nobody writes it any more


def test_the_periodic_task_repairs_answers_of_a_dead_process(store: Database) -> None:
    user = _user(store)
    dead = _streaming(store, user, age_s=5, duration_ms=0)

    async def go() -> None:
        task = asyncio.create_task(keep_recovering(store, every=0.05, stale_after=1))
        try:
            for _ in range(100):
                await asyncio.sleep(0.05)
                if _status(store, dead)[0] != "streaming":
                    break
        finally:
            task.cancel()

    asyncio.run(go())
    assert _status(store, dead)[0] == "interrupted"


def test_replica_failing_mid_answer_interrupts_the_message(store: Database) -> None:
    user = _user(store)
    failing = ScriptedEngine(("one", " two", " three", " four"))
    failing.fail = "the model server failed while answering"
    router = Router([ModelRoute("m", [Replica("a", failing)])], RouterOptions(health_interval=0))
    conv = Conversations(store, user).create(title="t")

    async def go() -> list[tuple[str, dict[str, object]]]:
        replies = Replies(store, router, user)
        return [(e.kind, e.data) async for e in replies.send(conv.id, "hello")]

    events = asyncio.run(go())
    kinds = [k for k, _ in events]
    assert kinds[0] == "start" and kinds[-1] == "error"
    assert "done" not in kinds
    final = events[-1][1]
    assert final["status"] == "interrupted"
    assert final["error"] == "the model server failed while answering"
    status, error, content = _status(store, str(final["message_id"]))
    assert (status, error) == ("interrupted", "the model server failed while answering")
    assert content.startswith("one two")
    assert failing.requests[0].affinity_key == conv.id
