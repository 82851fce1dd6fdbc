"""Tool-call parsing of generated text, whole and streamed with hold-back."""

from __future__ import annotations

import json

import pytest

from causerie.chat.toolcalls import Piece, ToolCallStream, parse_tool_calls

TWO = (
    "Let me check.\n<tool_call>\n"
    '{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n'
    '<tool_call>{"name": "get_time", "arguments": "{\\"timezone\\": \\"CET\\"}"}</tool_call>'
)


def _stream(text: str, size: int) -> list[Piece]:
    stream = ToolCallStream()
    out: list[Piece] = []
    for i in range(0, len(text), size):
        out += stream.feed(text[i : i + size])
    return out + stream.flush()


def test_parse_two_calls() -> None:
    content, calls = parse_tool_calls(TWO)
    assert content == "Let me check."
    assert [c.name for c in calls] == ["get_weather", "get_time"]
    assert json.loads(calls[0].arguments) == {"city": "Paris"}
    assert json.loads(calls[1].arguments) == {"timezone": "CET"}
    assert calls[0].id != calls[1].id and calls[0].id.startswith("call_")


def test_plain_text_and_broken_blocks_stay_content() -> None:
    assert parse_tool_calls("Hello <b>there</b>") == ("Hello <b>there</b>", [])
    broken = "<tool_call>{not json}</tool_call>"
    assert parse_tool_calls(broken) == (broken, [])
    assert parse_tool_calls('<tool_call>{"arguments": {}}</tool_call>')[1] == []
    unfinished = '<tool_call>{"name": "f", "argu'
    assert parse_tool_calls(unfinished) == (unfinished, [])


@pytest.mark.parametrize("size", [1, 2, 3, 7, 1000])
def test_stream_matches_whole_parse(size: int) -> None:
    pieces = _stream(TWO, size)
    text = "".join(p.text for p in pieces)
    calls = [p.call for p in pieces if p.call is not None]
    assert text.strip() == "Let me check."
    assert [c.name for c in calls] == ["get_weather", "get_time"]
    assert all("<" not in p.text for p in pieces)


@pytest.mark.parametrize("size", [1, 4])
def test_stream_holds_back_only_what_may_open_a_call(size: int) -> None:
    text = "a < b and <tool_ca is not a call"
    pieces = _stream(text, size)
    assert "".join(p.text for p in pieces) == text
    assert all(p.call is None for p in pieces)


def test_stream_emits_unfinished_call_as_text_at_the_end() -> None:
    stream = ToolCallStream()
    assert stream.feed('Hi <tool_call>{"name": "f"') == [Piece(text="Hi ")]
    assert stream.flush() == [Piece(text='<tool_call>{"name": "f"')]


def test_stream_text_after_a_call() -> None:
    pieces = _stream('<tool_call>{"name": "f", "arguments": {}}</tool_call>\n\nDone.', 5)
    assert [p.call.name for p in pieces if p.call] == ["f"]
    assert "".join(p.text for p in pieces) == "Done."
