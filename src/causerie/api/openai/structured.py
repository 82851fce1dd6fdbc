"""`response_format`, `tools` and `tool_choice` turned into core `OutputFormat` / `ToolSpec`s.

json_object and json_schema constrain the whole answer; tool_choice `required` or a named
function constrain it to `<tool_call>` blocks (engine/toolprompt.py) whose JSON matches
the functions' parameters; `auto` only shows the tools; `none` hides them.
"""

from __future__ import annotations

import json
from typing import Any

from causerie.api.openai.protocol import ChatCompletionRequest, FunctionDef
from causerie.chat.toolcalls import forced_calls
from causerie.core.errors import InvalidRequestError
from causerie.core.types import OutputFormat, ToolSpec

MAX_PARALLEL_CALLS = 4
EMPTY_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {}}


def output_format(raw: dict[str, Any] | None) -> OutputFormat | None:
    """The constraint a `response_format` asks for (None for plain text)."""
    kind = (raw or {}).get("type", "text")
    if kind == "text":
        return None
    assert raw is not None
    if kind == "json_object":
        return OutputFormat(schema='{"type": "object"}')
    if kind != "json_schema":
        raise InvalidRequestError(
            f"response_format type must be text, json_object or json_schema, not '{kind}'",
            param="response_format",
        )
    spec = raw.get("json_schema")
    if not isinstance(spec, dict) or not isinstance(spec.get("schema"), dict):
        raise InvalidRequestError(
            "response_format json_schema needs {'name': ..., 'schema': {...}}",
            param="response_format",
        )
    return OutputFormat(schema=json.dumps(spec["schema"]), strict=spec.get("strict") is True)


def _spec(function: FunctionDef) -> ToolSpec:
    parameters = function.parameters if function.parameters is not None else EMPTY_PARAMETERS
    if parameters.get("type", "object") != "object":
        raise InvalidRequestError(
            f"the parameters of '{function.name}' must be a JSON Schema of type object",
            param="tools",
        )
    return ToolSpec(
        name=function.name, description=function.description, parameters=json.dumps(parameters)
    )


def _choice(raw: str | dict[str, Any] | None, names: list[str]) -> str:
    """'none', 'auto', 'required' or the name of the one function to call."""
    if raw is None:
        return "auto" if names else "none"
    if not names:
        raise InvalidRequestError("tool_choice needs tools", param="tool_choice")
    if isinstance(raw, str):
        if raw not in ("none", "auto", "required"):
            raise InvalidRequestError(
                "tool_choice must be none, auto, required or a named function",
                param="tool_choice",
            )
        return raw
    function = raw.get("function")
    name = function.get("name") if isinstance(function, dict) else None
    if raw.get("type") != "function" or not isinstance(name, str):
        raise InvalidRequestError(
            "tool_choice must be {'type': 'function', 'function': {'name': ...}}",
            param="tool_choice",
        )
    if name not in names:
        raise InvalidRequestError(
            f"tool_choice names '{name}', which is not among the tools", param="tool_choice"
        )
    return name


def tool_plan(body: ChatCompletionRequest) -> tuple[tuple[ToolSpec, ...], OutputFormat | None]:
    """(the tools to show the model, the constraint that forces calls, if any)."""
    specs = [_spec(t.function) for t in body.tools or ()]
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise InvalidRequestError("two tools have the same name", param="tools")
    choice = _choice(body.tool_choice, names)
    if choice == "none":
        return (), None
    if choice == "auto":
        return tuple(specs), None
    if choice == "required":
        forced = specs
        most = MAX_PARALLEL_CALLS if body.parallel_tool_calls else 1
    else:
        forced = [s for s in specs if s.name == choice]
        most = 1
    strict = any(t.function.strict for t in body.tools or () if t.function.name in names)
    return tuple(specs), forced_calls(forced, most, strict)
