"""Tool calls found in generated text, shaped as OpenAI message fields and stream deltas.

A streamed call is sent whole in one delta (index, id, type, name and all its arguments)
once its `</tool_call>` has been generated; plain text around calls streams as content.
"""

from __future__ import annotations

from causerie.api.openai.protocol import (
    ChatDelta,
    FunctionCall,
    FunctionDelta,
    ToolCallDelta,
    ToolCallOut,
)
from causerie.chat.toolcalls import ToolCallStream
from causerie.core.types import ToolCall


def tool_calls_out(calls: list[ToolCall]) -> list[ToolCallOut]:
    return [
        ToolCallOut(id=c.id, function=FunctionCall(name=c.name, arguments=c.arguments))
        for c in calls
    ]


def tool_deltas(stream: ToolCallStream, text: str, last: bool) -> list[ChatDelta]:
    """The deltas to send for `text`, and for what was held back when `last`."""
    pieces = stream.feed(text)
    if last:
        pieces += stream.flush()
    out: list[ChatDelta] = []
    for piece in pieces:
        if piece.call is None:
            if piece.text:
                out.append(ChatDelta(content=piece.text))
            continue
        index = next(i for i, c in enumerate(stream.calls) if c is piece.call)
        function = FunctionDelta(name=piece.call.name, arguments=piece.call.arguments)
        delta = ToolCallDelta(index=index, id=piece.call.id, type="function", function=function)
        out.append(ChatDelta(tool_calls=[delta]))
    return out
