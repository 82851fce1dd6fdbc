"""The chat tools by name, their `ToolSpec`s for the engine, name validation for the API,
and `run_call`: one call run to a result text, whatever the model sent (never raises).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

from causerie.chat.tools.base import Tool, ToolContext, ToolInputError, clip
from causerie.chat.tools.calculator import CALCULATOR
from causerie.chat.tools.clock import DATETIME
from causerie.chat.tools.documents import DOCUMENTS
from causerie.chat.tools.python import PYTHON
from causerie.core.errors import InvalidRequestError
from causerie.core.types import ToolCall, ToolSpec

log = logging.getLogger(__name__)

TOOLS: dict[str, Tool] = {t.name: t for t in (CALCULATOR, DATETIME, DOCUMENTS, PYTHON)}


def get_tool(name: str) -> Tool | None:
    return TOOLS.get(name)


def tool_spec(tool: Tool) -> ToolSpec:
    return ToolSpec(
        name=tool.name, description=tool.description, parameters=json.dumps(tool.parameters)
    )


def check_names(names: Iterable[Any], param: str = "tools") -> list[str]:
    """`names` as a list without repeats; an unknown name is a 400 naming `param`."""
    out: list[str] = []
    for name in names:
        if not isinstance(name, str) or name not in TOOLS:
            known = ", ".join(TOOLS)
            raise InvalidRequestError(f"unknown tool '{name}' (known: {known})", param=param)
        if name not in out:
            out.append(name)
    return out


def _arguments(call: ToolCall, tool: Tool) -> dict[str, Any]:
    try:
        args = json.loads(call.arguments or "{}")
    except ValueError:
        raise ToolInputError("the arguments are not valid JSON") from None
    if not isinstance(args, dict):
        raise ToolInputError("the arguments must be a JSON object")
    known = tool.parameters.get("properties", {})
    unknown = [k for k in args if k not in known]
    if unknown:
        raise ToolInputError(f"unknown argument '{unknown[0]}' (expected: {', '.join(known)})")
    return args


async def run_call(call: ToolCall, context: ToolContext) -> str:
    """The result text of `call`: the tool's answer, or 'error: ...' saying what is wrong."""
    tool = TOOLS.get(call.name)
    if tool is None:
        return f"error: there is no tool named '{call.name}' (available: {', '.join(TOOLS)})"
    try:
        return clip(await tool.run(_arguments(call, tool), context))
    except ToolInputError as exc:
        return f"error: {exc}"
    except Exception as exc:  # a tool bug must not end the conversation
        log.exception("tool %s failed", call.name)
        return f"error: the tool failed ({type(exc).__name__})"
