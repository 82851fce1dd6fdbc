"""An answer waiting long for its first token is kept alive by progress writes, so the
periodic recovery (chat/recovery.py) never mistakes it for one a dead process left; a
progress write that lands after the answer was closed changes nothing."""

from __future__ import annotations

import asyncio
import time

import pytest

from causerie.chat import replies as replies_module
from causerie.chat.recovery import recover_interrupted
from causerie.chat.replies import Replies, _Answer
from causerie.core.types import SamplingParams, Usage
from causerie.store.db import Database
from tests.chat.test_toolloop import collect, path, setup
from tests.support.fake_engine import ScriptedEngine


def test_a_slow_first_token_is_not_taken_for_a_dead_process(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(replies_module, "HEARTBEAT_S", 0.05)
    engine = ScriptedEngine(("Late", " but", " here"), delay=0.6)  # 0.6 s before each token
    user_id, conv = setup(db, [])
    repaired: list[int] = []

    async def go() -> None:
        task = asyncio.ensure_future(collect(Replies(db, engine, user_id).send(conv, "hi")))
        await asyncio.sleep(0.45)  # no token yet, the answer row was written at 0 s
        repaired.append(await asyncio.to_thread(recover_interrupted, db, 0.3))
        await task

    asyncio.run(go())
    assert repaired == [0]
    answer = path(db, user_id, conv)[-1]
    assert answer.status == "complete" and answer.content == "Late but here"


def test_without_heartbeats_the_same_wait_would_look_dead(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control: with the heartbeat off, the recovery does take it (so the test above
    shows the heartbeat at work, not a lenient recovery)."""
    monkeypatch.setattr(replies_module, "HEARTBEAT_S", 60.0)
    engine = ScriptedEngine(("Late",), delay=0.6)
    user_id, conv = setup(db, [])
    repaired: list[int] = []

    async def go() -> None:
        task = asyncio.ensure_future(collect(Replies(db, engine, user_id).send(conv, "hi")))
        await asyncio.sleep(0.45)
        repaired.append(await asyncio.to_thread(recover_interrupted, db, 0.3))
        await task

    asyncio.run(go())
    assert repaired == [1]


def test_a_progress_write_after_the_close_is_dropped(db: Database) -> None:
    engine = ScriptedEngine(("Done",))
    user_id, conv = setup(db, [])
    asyncio.run(collect(Replies(db, engine, user_id).send(conv, "hi")))
    stored = path(db, user_id, conv)[-1]
    answer = _Answer(conv, stored.id, "scripted", [], SamplingParams(), False)
    replies = Replies(db, engine, user_id)
    replies._save(answer, "complete", None, Usage(1, 1))
    started = time.monotonic()
    replies._save(answer, "streaming", None, Usage(1, 1))  # a late heartbeat
    assert time.monotonic() - started < 5
    assert path(db, user_id, conv)[-1].status == "complete"
