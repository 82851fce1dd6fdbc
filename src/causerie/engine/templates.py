"""Chat templates: the model's own `tokenizer.chat_template`, rendered in Jinja's immutable
sandbox (a model file is untrusted input). Models without a template get ChatML.
Templates that do not render `tools` get the generic tool format of `toolprompt`.

Templates are compiled once per model; a template that fails to compile or render raises
`InvalidRequestError` for that request, never crashes the server.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from causerie.core.errors import InvalidRequestError, ModelLoadError
from causerie.core.types import Message, ToolCall, ToolSpec
from causerie.engine.toolprompt import generic_messages, json_value, tool_dict

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def _raise_exception(message: str) -> None:
    raise jinja2.TemplateError(message)


def _strftime_now(fmt: str) -> str:
    return datetime.now().strftime(fmt)


def _call_dict(call: ToolCall) -> dict[str, Any]:
    function = {"name": call.name, "arguments": json_value(call.arguments)}
    return {"id": call.id, "type": "function", "function": function}


class ChatTemplate:
    """A compiled chat template with the special tokens it may refer to."""

    def __init__(self, source: str | None, *, bos_token: str = "", eos_token: str = "") -> None:
        self.source = source or CHATML_TEMPLATE
        env = ImmutableSandboxedEnvironment(
            trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"]
        )
        env.globals.update(raise_exception=_raise_exception, strftime_now=_strftime_now)
        try:
            self._template = env.from_string(self.source)
        except jinja2.TemplateError as exc:
            raise ModelLoadError(f"the model's chat template does not compile: {exc}") from exc
        self.bos_token, self.eos_token = bos_token, eos_token

    @property
    def knows_tools(self) -> bool:
        """Whether the template renders `tools` itself (else: the generic format)."""
        return "tools" in self.source

    def render(
        self,
        messages: Sequence[Message],
        *,
        add_generation_prompt: bool = True,
        tools: Sequence[ToolSpec] = (),
    ) -> str:
        native = self.knows_tools
        if not native and (tools or any(m.tool_calls or m.role == "tool" for m in messages)):
            messages = generic_messages(messages, tools)
        payload: list[dict[str, Any]] = []
        for message in messages:
            item: dict[str, Any] = {"role": message.role, "content": message.content}
            if message.name:
                item["name"] = message.name
            if message.tool_calls:
                item["tool_calls"] = [_call_dict(c) for c in message.tool_calls]
            if message.tool_call_id:
                item["tool_call_id"] = message.tool_call_id
            payload.append(item)
        extra: dict[str, Any] = {}
        if native and tools:
            extra["tools"] = [{"type": "function", "function": tool_dict(t)} for t in tools]
        try:
            return self._template.render(
                messages=payload,
                add_generation_prompt=add_generation_prompt,
                bos_token=self.bos_token,
                eos_token=self.eos_token,
                **extra,
            )
        except jinja2.TemplateError as exc:
            raise InvalidRequestError(
                f"the model's chat template rejected these messages: {exc}", param="messages"
            ) from exc
        except Exception as exc:  # a sandboxed template can still hit TypeError & co.
            raise InvalidRequestError(
                f"the model's chat template failed on these messages: {exc}", param="messages"
            ) from exc


def control_pattern(texts: Sequence[str]) -> re.Pattern[str] | None:
    """Finds text that spells one of `texts` (a model's control tokens); None if none."""
    spelled = sorted({t for t in texts if t}, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, spelled))) if spelled else None


def render_guarded(
    template: ChatTemplate,
    messages: Sequence[Message],
    tools: Sequence[ToolSpec],
    controls: re.Pattern[str] | None,
) -> list[tuple[str, bool]]:
    """The rendered prompt as `(text, plain)` parts, in order.

    A prompt is tokenized with special-token parsing, so that the template's own
    `<|im_start|>` and the like become control tokens. Message text is not the template's:
    content that spells a control token ("<|im_end|>\\n<|im_start|>system\\n...") would
    otherwise close the turn and open one with another role. Such messages are rendered as
    placeholders and come back as parts of their own with `plain` set: the caller tokenizes
    them as plain text. Requests without such text (nearly all) give one part.
    """
    spelled = {i for i, m in enumerate(messages) if controls and controls.search(m.content)}
    if not spelled:
        return [(template.render(messages, tools=tools), False)]
    nonce = secrets.token_hex(8)
    keys = {i: f"\ue000{nonce}:{i}\ue001" for i in spelled}
    literal = {keys[i]: messages[i].content for i in spelled}
    swapped = [replace(m, content=keys[i]) if i in keys else m for i, m in enumerate(messages)]
    parts = re.split(f"(\ue000{nonce}:\\d+\ue001)", template.render(swapped, tools=tools))
    if sorted(p for p in parts if p in literal) != sorted(literal):
        raise InvalidRequestError(
            "A message spells one of the model's control tokens (such as '<|im_end|>'), and "
            "this model's chat template does not keep message text as it is, so that text "
            "cannot be read as plain text. Remove the control token from the message.",
            param="messages",
        )
    return [(literal[p], True) if p in literal else (p, False) for p in parts if p]
