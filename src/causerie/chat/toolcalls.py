"""Tool calls read out of generated text in the generic format of engine/toolprompt.py:
`<tool_call>{"name": ..., "arguments": {...}}</tool_call>` blocks, one per call.

`parse_tool_calls` splits a whole answer; `ToolCallStream` does it on a stream, holding
back text while a block may be starting, so no part of a call ever leaks as content.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

from causerie.core.types import OutputFormat, ToolCall, ToolSpec

OPEN, CLOSE = "<tool_call>", "</tool_call>"
CALL_PREFIX, CALL_SUFFIX = OPEN + "\n", "\n" + CLOSE
_BLOCK = re.compile(re.escape(OPEN) + r"(.*?)" + re.escape(CLOSE), re.DOTALL)


def new_call_id() -> str:
    return f"call_{uuid.uuid4().hex[:24]}"


def call_schema(tool: ToolSpec) -> dict[str, Any]:
    """The JSON Schema of one `<tool_call>` block's body calling `tool`."""
    return {
        "type": "object",
        "properties": {"name": {"const": tool.name}, "arguments": json.loads(tool.parameters)},
        "required": ["name", "arguments"],
        "additionalProperties": False,
    }


def forced_calls(tools: list[ToolSpec], most: int = 1, strict: bool = False) -> OutputFormat:
    """The constraint that makes an answer 1..`most` call blocks to some of `tools`."""
    schemas = [call_schema(t) for t in tools]
    schema = schemas[0] if len(schemas) == 1 else {"anyOf": schemas}
    return OutputFormat(
        schema=json.dumps(schema),
        prefix=CALL_PREFIX,
        suffix=CALL_SUFFIX,
        min_count=1,
        max_count=most,
        strict=strict,
    )


def parse_call(body: str) -> ToolCall | None:
    """The call in one block's body, or None if it is not `{"name", "arguments"}` JSON."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        return None
    arguments = data.get("arguments", data.get("parameters", {}))
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            return None
    if not isinstance(arguments, dict):
        return None
    return ToolCall(id=new_call_id(), name=data["name"], arguments=json.dumps(arguments))


def parse_tool_calls(text: str) -> tuple[str, list[ToolCall]]:
    """(`text` without its well-formed call blocks, the calls in order)."""
    calls: list[ToolCall] = []

    def take(match: re.Match[str]) -> str:
        call = parse_call(match.group(1))
        if call is None:
            return match.group(0)
        calls.append(call)
        return ""

    rest = _BLOCK.sub(take, text)
    return (rest.strip() if calls else rest), calls


@dataclass(frozen=True, slots=True)
class Piece:
    """What a stream may show now: plain `text`, or one complete `call`."""

    text: str = ""
    call: ToolCall | None = None


def _partial_open(text: str) -> int:
    """Length of the longest suffix of `text` that could begin `<tool_call>`."""
    for size in range(min(len(OPEN) - 1, len(text)), 0, -1):
        if OPEN.startswith(text[-size:]):
            return size
    return 0


class ToolCallStream:
    """Feed generated text; get back content and completed calls, in order."""

    def __init__(self) -> None:
        self._buffer = ""
        self._in_call = False
        self._space = ""  # whitespace held back: shown only if more content follows
        self._after_call = False
        self.calls: list[ToolCall] = []

    def _text(self, text: str) -> list[Piece]:
        if not text:
            return []
        if not text.strip():
            self._space += text
            return []
        text, self._space = self._space + text, ""
        if self._after_call:
            text, self._after_call = text.lstrip(), False
        return [Piece(text=text)]

    def feed(self, text: str) -> list[Piece]:
        self._buffer += text
        out: list[Piece] = []
        while True:
            if self._in_call:
                end = self._buffer.find(CLOSE)
                if end < 0:
                    return out
                body = self._buffer[:end]
                self._buffer = self._buffer[end + len(CLOSE) :]
                self._in_call = False
                call = parse_call(body)
                if call is None:
                    out += self._text(OPEN + body + CLOSE)
                else:
                    self.calls.append(call)
                    self._space, self._after_call = "", True
                    out.append(Piece(call=call))
                continue
            start = self._buffer.find(OPEN)
            if start >= 0:
                out += self._text(self._buffer[:start])
                self._buffer = self._buffer[start + len(OPEN) :]
                self._in_call = True
                continue
            keep = _partial_open(self._buffer)
            ready = self._buffer[: len(self._buffer) - keep]
            self._buffer = self._buffer[len(self._buffer) - keep :]
            out += self._text(ready)
            return out

    def flush(self) -> list[Piece]:
        """At the end of the stream: whatever is left is plain text (an unfinished call)."""
        rest = (OPEN if self._in_call else "") + self._buffer
        self._buffer, self._in_call = "", False
        if self.calls:
            return [Piece(text=rest)] if rest.strip() else []
        pieces = self._text(rest)
        if self._space and not pieces:
            pieces, self._space = [Piece(text=self._space)], ""
        return pieces
