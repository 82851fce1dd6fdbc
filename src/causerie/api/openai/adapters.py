"""Conversions between the OpenAI protocol models and Causerie's core types.

Parameters we do not support yet are refused here with a 400 naming them, so that no
client silently gets something other than what it asked for.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import replace

from causerie.api.openai.protocol import (
    ChatCompletionRequest,
    ChatMessageIn,
    ChoiceLogprobs,
    CompletionLogprobs,
    CompletionRequest,
    PromptTokensDetails,
    StopParam,
    TokenLogprobOut,
    TopLogprob,
    UsageOut,
    _SamplingFields,
)
from causerie.api.openai.structured import output_format, tool_plan
from causerie.core.errors import InvalidRequestError, UnsupportedParameterError
from causerie.core.types import (
    GenerationRequest,
    Message,
    SamplingParams,
    TokenLogprob,
    ToolCall,
    Usage,
)

MAX_STOP_STRINGS = 16


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


def now() -> int:
    return int(time.time())


def _stops(stop: StopParam) -> tuple[str, ...]:
    if stop is None:
        return ()
    items = [stop] if isinstance(stop, str) else stop
    if len(items) > MAX_STOP_STRINGS:
        raise InvalidRequestError(f"at most {MAX_STOP_STRINGS} stop strings", param="stop")
    return tuple(s for s in items if s)


def _logit_bias(raw: dict[str, float] | None) -> tuple[tuple[int, float], ...]:
    out: list[tuple[int, float]] = []
    for key, value in (raw or {}).items():
        try:
            token = int(key)
        except ValueError:
            raise InvalidRequestError(
                f"logit_bias keys must be token ids, got '{key}'", param="logit_bias"
            ) from None
        if not -100 <= value <= 100:
            raise InvalidRequestError(
                "logit_bias values must be in [-100, 100]", param="logit_bias"
            )
        out.append((token, float(value)))
    return tuple(out)


def _sampling(
    body: _SamplingFields, max_tokens: int | None, logprobs: bool, top_logprobs: int
) -> SamplingParams:
    if body.n != 1:
        raise UnsupportedParameterError("only n=1 is supported for now", param="n")
    return SamplingParams(
        max_tokens=max_tokens,
        temperature=1.0 if body.temperature is None else body.temperature,
        top_p=1.0 if body.top_p is None else body.top_p,
        top_k=body.top_k or 0,
        min_p=body.min_p or 0.0,
        presence_penalty=body.presence_penalty or 0.0,
        frequency_penalty=body.frequency_penalty or 0.0,
        repeat_penalty=body.repeat_penalty or 1.0,
        seed=body.seed,
        stop=_stops(body.stop),
        logit_bias=_logit_bias(body.logit_bias),
        logprobs=logprobs,
        top_logprobs=top_logprobs,
        ignore_eos=body.ignore_eos,
    )


def _content(message: ChatMessageIn, index: int) -> str:
    if message.content is None:
        return ""
    if isinstance(message.content, str):
        return message.content
    return "".join(part.text for part in message.content)


def _message(message: ChatMessageIn, index: int) -> Message:
    if message.role == "tool" and not message.tool_call_id:
        raise InvalidRequestError(
            f"messages[{index}]: a tool message needs tool_call_id", param="messages"
        )
    calls = tuple(
        ToolCall(id=c.id, name=c.function.name, arguments=c.function.arguments)
        for c in message.tool_calls or ()
    )
    return Message(
        role=message.role,
        content=_content(message, index),
        name=message.name,
        tool_calls=calls if message.role == "assistant" else (),
        tool_call_id=message.tool_call_id if message.role == "tool" else None,
    )


def chat_request(body: ChatCompletionRequest, request_id: str) -> GenerationRequest:
    if body.top_logprobs and not body.logprobs:
        raise InvalidRequestError("top_logprobs needs logprobs=true", param="top_logprobs")
    messages = tuple(_message(m, i) for i, m in enumerate(body.messages))
    max_tokens = body.max_completion_tokens or body.max_tokens
    params = _sampling(body, max_tokens, body.logprobs, body.top_logprobs or 0)
    tools, tool_format = tool_plan(body)
    response_format = output_format(body.response_format)
    if tools and response_format is not None:
        raise UnsupportedParameterError(
            "response_format json_object/json_schema cannot be combined with tools; "
            "use tool_choice 'none' or drop response_format",
            param="response_format",
        )
    if tools and body.logprobs:
        raise UnsupportedParameterError("logprobs cannot be combined with tools", param="logprobs")
    fmt = tool_format or response_format
    if fmt is not None:
        params = replace(params, output_format=fmt)
    return GenerationRequest(
        model=body.model, params=params, messages=messages, request_id=request_id, tools=tools,
        affinity_key=body.user,
    )  # fmt: skip


def completion_request(body: CompletionRequest, request_id: str) -> GenerationRequest:
    if body.suffix:
        raise UnsupportedParameterError("suffix is not supported", param="suffix")
    if body.best_of not in (None, 1):
        raise UnsupportedParameterError("only best_of=1 is supported", param="best_of")
    prompt = body.prompt
    if isinstance(prompt, list):
        if len(prompt) != 1:
            raise UnsupportedParameterError(
                "only one prompt per request is supported for now", param="prompt"
            )
        prompt = prompt[0]
    wants_logprobs = body.logprobs is not None
    params = _sampling(body, body.max_tokens, wants_logprobs, body.logprobs or 0)
    return GenerationRequest(
        model=body.model, params=params, prompt=prompt, request_id=request_id,
        affinity_key=body.user,
    )  # fmt: skip


def usage_out(usage: Usage | None) -> UsageOut:
    usage = usage or Usage()
    return UsageOut(
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        total_tokens=usage.total_tokens,
        prompt_tokens_details=PromptTokensDetails(cached_tokens=usage.cached_tokens),
    )


def chat_logprobs(items: list[TokenLogprob]) -> ChoiceLogprobs:
    return ChoiceLogprobs(
        content=[
            TokenLogprobOut(
                token=lp.token,
                logprob=lp.logprob,
                bytes=list(lp.bytes),
                top_logprobs=[TopLogprob(token=t, logprob=v, bytes=list(b)) for t, v, b in lp.top],
            )
            for lp in items
        ]
    )


def completion_logprobs(items: list[TokenLogprob], offset: int) -> CompletionLogprobs:
    out = CompletionLogprobs()
    for lp in items:
        out.tokens.append(lp.token)
        out.token_logprobs.append(lp.logprob)
        out.top_logprobs.append({t: v for t, v, _ in lp.top})
        out.text_offset.append(offset)
        offset += len(lp.token)
    return out
