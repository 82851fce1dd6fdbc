"""Export/import of message meta above HTTP (real databases on both backends): tool calls,
tool results, sources and citations survive a round trip, bad meta is refused naming the
key and writes nothing, and the Markdown export shows tool calls and results readably."""

from __future__ import annotations

import json
from typing import Any

import pytest

from causerie.chat.conversations import Conversations
from causerie.chat.transfer import export_json, export_markdown, import_conversations
from causerie.chat.transfer_meta import clean_meta
from causerie.core.errors import InvalidRequestError
from causerie.store.db import Database
from tests.store.test_document_search import add_user

CALL = {"id": "call_1", "name": "python", "arguments": '{"code": "print(```)"}'}
SOURCES = [{"n": 1, "document_id": "d1", "filename": "a.md", "heading": "H", "position": 0,
            "excerpt": "The code is 4417."}]  # fmt: skip
CITATIONS = [{"n": 1, "by": "overlap", "spans": [[0, 17]]}]


def seed(db: Database, user_id: str) -> str:
    conv = Conversations(db, user_id).create(title="Tools")
    with db.unit() as uow:
        row = uow.conversations.get(user_id, conv.id)
        assert row is not None
        ask = uow.messages.add(row, parent_id=None, role="user", content="Run it")
        calls = uow.messages.add(row, parent_id=ask.id, role="assistant", content="",
                                 status="complete", meta={"tool_calls": [CALL]})  # fmt: skip
        result = uow.messages.add(row, parent_id=calls.id, role="tool", content="``` done",
                                  status="complete", meta={"tool_call_id": "call_1",
                                  "name": "python", "arguments": CALL["arguments"]})  # fmt: skip
        final = uow.messages.add(row, parent_id=result.id, role="assistant",
                                 content="The code is 4417.", status="complete",
                                 meta={"sources": SOURCES, "citations": CITATIONS})  # fmt: skip
        row.current_leaf_id = final.id
        uow.commit()
    return conv.id


def test_meta_survives_export_and_import(db: Database) -> None:
    alice, bob = add_user(db, "alice@example.org"), add_user(db, "bob@example.org")
    seed(db, alice)
    exported = json.loads(json.dumps(export_json(db, alice)))
    assert import_conversations(db, bob, exported) == 1
    (conv,) = Conversations(db, bob).list()[0]
    messages = Conversations(db, bob).view(conv.id).messages
    assert [m.role for m in messages] == ["user", "assistant", "tool", "assistant"]
    assert [m.meta for m in messages] == [m["meta"] for m in exported["conversations"][0][
        "messages"]]  # fmt: skip
    assert messages[1].meta == {"tool_calls": [CALL]}
    assert messages[2].meta["tool_call_id"] == "call_1"
    assert messages[3].meta == {"sources": SOURCES, "citations": CITATIONS}


def test_markdown_shows_tool_calls_results_and_sources(db: Database) -> None:
    alice = add_user(db, "alice@example.org")
    seed(db, alice)
    text = export_markdown(db, alice)
    assert 'Calls the tool python:\n\n```json\n{"code": "print(```)"}\n```' not in text
    assert 'Calls the tool python:\n\n````json\n{"code": "print(```)"}\n````' in text
    assert "**Tool result (python):**" in text and "````\n``` done\n````" in text
    assert "Sources:\n\n- [1] a.md — H" in text


@pytest.mark.parametrize(
    "meta",
    [
        {"role": "admin"},
        "text",
        {"tool_calls": [{"id": "a", "name": "b", "arguments": 3}]},
        {"tool_calls": [CALL] * 33},
        {"sources": [{"n": True}]},
        {"sources": [{"n": 1, "secret": "x"}]},
        {"citations": [{"n": 1, "by": "model", "spans": [[1]]}]},
        {"arguments": "x" * 100_001},
        {"finish_reason": "stop"},
        {"error_code": 3},
    ],
)
def test_bad_meta_is_refused_and_nothing_written(db: Database, meta: Any) -> None:
    alice, bob = add_user(db, "alice@example.org"), add_user(db, "bob@example.org")
    seed(db, alice)
    exported = export_json(db, alice)
    exported["conversations"][0]["messages"][1]["meta"] = meta
    with pytest.raises(InvalidRequestError) as refused:
        import_conversations(db, bob, exported)
    assert refused.value.param == "meta" and "meta" in refused.value.message
    assert Conversations(db, bob).list()[1] == 0


def test_clean_meta_keeps_known_keys() -> None:
    assert clean_meta(None) == {}
    assert clean_meta({"sources": SOURCES, "citations": CITATIONS}) == {
        "sources": SOURCES,
        "citations": CITATIONS,
    }
    ending = {"finish_reason": "length", "error_code": "context_length_exceeded"}
    assert clean_meta(ending) == ending
