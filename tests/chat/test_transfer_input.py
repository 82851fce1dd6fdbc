"""Import files with values no database can store, or of an unexpected shape, are refused
with a 400 saying what and where, and write nothing (real databases on both backends:
PostgreSQL refuses NUL characters, both refuse unpaired surrogates)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from causerie.chat.conversations import Conversations
from causerie.chat.transfer import import_conversations
from causerie.chat.transfer_input import check_text, import_time
from causerie.core.errors import InvalidRequestError
from causerie.store.db import Database
from tests.store.test_document_search import add_user

EXPORT: dict[str, Any] = {
    "format": "causerie",
    "version": 1,
    "conversations": [
        {
            "title": "Hello",
            "created_at": "2024-05-01T10:00:00+00:00",
            "messages": [
                {"id": "a", "role": "user", "content": "Hi", "created_at": 1714557600},
                {"id": "b", "parent_id": "a", "role": "assistant", "content": "Hello!"},
            ],
        }
    ],
}


def with_change(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(EXPORT)
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "says"),
    [
        (("conversations", 0, "title"), "nul\x00", "conversations[0].title contains a NUL"),
        (("conversations", 0, "messages", 1, "content"), "a\x00b", "messages[1].content"),
        (("conversations", 0, "messages", 0, "content"), "\ud800", "not valid Unicode"),
        (("conversations", 0, "system_prompt"), "\udfff!", "not valid Unicode"),
        (("conversations", 0, "created_at"), 1e300, "conversations[0].created_at"),
        (("conversations", 0, "updated_at"), float("inf"), "conversations[0].updated_at"),
        (("conversations", 0, "messages", 1, "created_at"), "x", "messages[1].created_at"),
        (("conversations", 0, "messages", 1, "created_at"), {"at": 1}, "messages[1].created_at"),
        (
            ("conversations", 0, "messages", 1, "created_at"),
            "9999-12-31T23:00:00-05:00",
            "[1].created_at",
        ),
    ],
)
def test_unstorable_values_are_400_and_write_nothing(
    db: Database, path: tuple[Any, ...], value: Any, says: str
) -> None:
    bob = add_user(db, "bob@example.org")
    with pytest.raises(InvalidRequestError) as info:
        import_conversations(db, bob, with_change(path, value))
    assert says in info.value.message and info.value.status == 400
    assert Conversations(db, bob).list()[1] == 0


def test_odd_shapes_are_imported_as_text_or_skipped(db: Database) -> None:
    """A model that is not a string, a role that is a list, a ChatGPT node that is not an
    object or an author that is a string: imported as best we can, not a 500."""
    bob = add_user(db, "bob@example.org")
    data = with_change(("conversations", 0, "messages", 1, "model"), {"name": "x" * 300})
    data["conversations"][0]["messages"][0]["role"] = ["user"]
    assert import_conversations(db, bob, data) == 1
    chatgpt = [{"title": "t", "mapping": {
        "x": "not a node", "y": {"parent": "x", "message": {"author": "me", "content": {}}},
        "z": {"parent": "y", "message": {"author": {"role": "user"}, "create_time": None,
                                         "content": {"parts": ["Bonjour"]}}},
    }}]  # fmt: skip
    assert import_conversations(db, bob, chatgpt) == 1
    rows, total = Conversations(db, bob).list()
    assert total == 2
    by_title = {c.title: c for c in rows}
    views = {t: Conversations(db, bob).view(c.id).messages for t, c in by_title.items()}
    assert [m.content for m in views["t"]] == ["Bonjour"]
    hello = views["Hello"]
    assert [m.role for m in hello] == ["user", "assistant"]
    assert hello[1].model is not None and len(hello[1].model) == 200


def test_check_text_walks_deep_files_without_recursion() -> None:
    deep: Any = "ok"
    for _ in range(100_000):
        deep = [deep]
    check_text(deep)
    deep[0] = "\x00"
    with pytest.raises(InvalidRequestError, match=r"\[0\] contains a NUL"):
        check_text(deep)
    with pytest.raises(InvalidRequestError, match="a key in x"):
        check_text({"x": {"\ud800": 1}})


def test_import_time_accepts_what_exports_hold() -> None:
    assert import_time(0, "t") == datetime(1970, 1, 1, tzinfo=UTC)
    assert import_time("2024-05-01T12:00:00+02:00", "t") == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert import_time("2024-05-01T12:00:00", "t").tzinfo is UTC
    assert abs((import_time(None, "t") - datetime.now(UTC)).total_seconds()) < 5
    for bad in (True, float("nan"), -1e20, "0001-01-01T00:00:00+01:00", [1], "soon"):
        with pytest.raises(InvalidRequestError, match="'when' must be"):
            import_time(bad, "'when'")


def test_exported_json_still_round_trips(db: Database) -> None:
    bob = add_user(db, "bob@example.org")
    assert import_conversations(db, bob, json.loads(json.dumps(EXPORT))) == 1
