"""NUL characters: model output and tool output lose theirs before they are stored (the
database cannot keep them), so an answer that holds one is saved, not lost (SQLite and
PostgreSQL, scripted engine)."""

from __future__ import annotations

import asyncio

from causerie.chat.replies import Replies
from causerie.chat.sandbox import _clip
from causerie.chat.titles import clean_title
from causerie.store.db import Database
from tests.chat.test_toolloop import collect, path, setup
from tests.support.fake_engine import ScriptedEngine


def test_an_answer_holding_nul_characters_is_saved_without_them(db: Database) -> None:
    user_id, conv = setup(db, [])
    engine = ScriptedEngine(["Hel\x00lo", "\x00", " there"])
    events = asyncio.run(collect(Replies(db, engine, user_id).send(conv, "hi")))
    assert events[-1].kind == "done" and events[-1].data["status"] == "complete"
    shown = "".join(e.data["text"] for e in events if e.kind == "delta")
    assert shown == "Hello there"
    answer = path(db, user_id, conv)[-1]
    assert answer.status == "complete" and answer.content == "Hello there"


def test_tool_output_and_titles_lose_their_nul_characters() -> None:
    assert _clip(b"a\x00b", 100) == "a\ufffdb"
    assert clean_title("Sky\x00 colours") == "Sky colours"
