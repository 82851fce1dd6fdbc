"""The JSON a `RemoteEngine` sends upstream: a `GenerationRequest` as an OpenAI chat or
completion body (streaming, with usage), and tool calls back into the text format of
engine/toolprompt.py so that the layers above parse them as they do for local engines.
"""

from __future__ import annotations

import json
from typing import Any

from causerie.core.errors import UnsupportedParameterError
from causerie.core.types import GenerationRequest, Message, SamplingParams


def tool_call_text(name: str, arguments: str) -> str:
    try:
        args: Any = json.loads(arguments) if arguments.strip() else {}
    except ValueError:
        args = arguments
    return "<tool_call>" + json.dumps({"name": name, "arguments": args}) + "</tool_call>"


def message_json(message: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.name:
        out["name"] = message.name
    if message.tool_calls:
        out["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in message.tool_calls
        ]
        out["content"] = message.content or None
    if message.tool_call_id:
        out["tool_call_id"] = message.tool_call_id
    return out


def sampling_json(params: SamplingParams, chat: bool) -> dict[str, Any]:
    """OpenAI fields, plus the vLLM/llama.cpp extensions only when they differ from defaults."""
    body: dict[str, Any] = {"temperature": params.temperature, "top_p": params.top_p}
    if params.max_tokens is not None:
        body["max_tokens"] = params.max_tokens
    if params.presence_penalty:
        body["presence_penalty"] = params.presence_penalty
    if params.frequency_penalty:
        body["frequency_penalty"] = params.frequency_penalty
    if params.seed is not None:
        body["seed"] = params.seed
    if params.stop:
        body["stop"] = list(params.stop)
    if params.logit_bias:
        body["logit_bias"] = {str(t): v for t, v in params.logit_bias}
    if params.logprobs:
        if chat:
            body["logprobs"] = True
            if params.top_logprobs:
                body["top_logprobs"] = params.top_logprobs
        else:
            body["logprobs"] = params.top_logprobs
    if params.top_k:
        body["top_k"] = params.top_k
    if params.min_p:
        body["min_p"] = params.min_p
    if params.repeat_penalty != 1.0:
        body["repeat_penalty"] = params.repeat_penalty
    if params.ignore_eos:
        body["ignore_eos"] = True
    return body


def plain_schema(request: GenerationRequest, where: str) -> dict[str, Any] | None:
    """The one JSON schema an engine other than llama.cpp can enforce, or None. With tools
    the format is only the llama.cpp engine's tool-call grammar: the model stays free and
    the parser finds calls. Repeated or framed formats are refused, naming `where`."""
    fmt = request.params.output_format
    if fmt is None or request.tools:
        return None
    if fmt.min_count != 1 or fmt.max_count != 1 or fmt.prefix or fmt.suffix:
        raise UnsupportedParameterError(
            f"this output format is not supported by {where}", param="response_format"
        )
    schema: dict[str, Any] = json.loads(fmt.schema)
    return schema


def _response_format(request: GenerationRequest) -> dict[str, Any] | None:
    schema = plain_schema(request, "a remote model")
    if schema is None:
        return None
    fmt = request.params.output_format
    assert fmt is not None
    return {
        "type": "json_schema",
        "json_schema": {"name": "output", "schema": schema, "strict": fmt.strict},
    }


def request_body(request: GenerationRequest, model: str) -> dict[str, Any]:
    """The streaming body for /chat/completions (messages) or /completions (prompt)."""
    if request.params.grammar:
        raise UnsupportedParameterError(
            "a raw grammar is not supported by a remote model", param="grammar"
        )
    chat = request.messages is not None
    body: dict[str, Any] = {"model": model, "stream": True}
    body["stream_options"] = {"include_usage": True}
    body.update(sampling_json(request.params, chat))
    if not chat:
        body["prompt"] = request.prompt or ""
        return body
    body["messages"] = [message_json(m) for m in request.messages or ()]
    if request.tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": t.name,
                    "description": t.description,
                    "parameters": json.loads(t.parameters),
                },
            }
            for t in request.tools
        ]
    fmt = _response_format(request)
    if fmt is not None:
        body["response_format"] = fmt
    return body
