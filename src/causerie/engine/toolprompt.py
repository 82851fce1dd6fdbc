"""The generic tool format, for chat templates that do not render `tools` themselves.

Tools are listed as JSON in a system-prompt section; the model calls them with
`<tool_call>{"name": ..., "arguments": {...}}</tool_call>` blocks (one per call) and
reads results in `<tool_response>` blocks sent as user turns. README "Tools" documents it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from causerie.core.types import Message, ToolCall, ToolSpec

CALL_OPEN, CALL_CLOSE = "<tool_call>", "</tool_call>"
RESPONSE_OPEN, RESPONSE_CLOSE = "<tool_response>", "</tool_response>"

_INSTRUCTIONS = """# Tools

You may call one or more of these functions to help with the user's request. \
Their signatures, as JSON Schema:
<tools>
{tools}
</tools>

To call functions, answer with one block per call and nothing else:
<tool_call>
{{"name": "<function name>", "arguments": {{<arguments as a JSON object>}}}}
</tool_call>
Results come back in <tool_response> blocks; then answer the user."""


_HTML_SAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "'": "\\u0027"})


def safe_json(value: Any) -> str:
    """JSON for a prompt, escaped as Jinja's `tojson` does (the native templates' tool JSON
    looks the same): a string in it can never spell a control token such as "<|im_end|>"
    (tool text is not a message, so nothing else keeps it from forging a turn)."""
    return json.dumps(value).translate(_HTML_SAFE)


def json_value(text: str) -> Any:
    """Parsed JSON, or the text itself when it is not JSON."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def tool_dict(tool: ToolSpec) -> dict[str, Any]:
    return {
        "name": tool.name,
        "description": tool.description,
        "parameters": json_value(tool.parameters),
    }


def call_block(call: ToolCall) -> str:
    body = safe_json({"name": call.name, "arguments": json_value(call.arguments)})
    return f"{CALL_OPEN}\n{body}\n{CALL_CLOSE}"


def tools_section(tools: Sequence[ToolSpec]) -> str:
    listing = "\n".join(safe_json(tool_dict(t)) for t in tools)
    return _INSTRUCTIONS.format(tools=listing)


def generic_messages(messages: Sequence[Message], tools: Sequence[ToolSpec]) -> list[Message]:
    """`messages` rewritten so that any template renders tools, calls and results."""
    out: list[Message] = []
    if tools:
        section = tools_section(tools)
        if messages and messages[0].role in ("system", "developer"):
            first = messages[0]
            out.append(Message(role=first.role, content=f"{first.content}\n\n{section}"))
            messages = messages[1:]
        else:
            out.append(Message(role="system", content=section))
    for message in messages:
        if message.role == "tool":
            block = f"{RESPONSE_OPEN}\n{message.content}\n{RESPONSE_CLOSE}"
            if out and out[-1].role == "user" and out[-1].content.startswith(RESPONSE_OPEN):
                out[-1] = Message(role="user", content=f"{out[-1].content}\n{block}")
            else:
                out.append(Message(role="user", content=block))
        elif message.tool_calls:
            parts = [message.content] if message.content else []
            parts += [call_block(c) for c in message.tool_calls]
            out.append(Message(role=message.role, content="\n".join(parts), name=message.name))
        else:
            out.append(message)
    return out
