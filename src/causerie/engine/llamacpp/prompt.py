"""A chat request's prompt tokens, without letting message text forge control tokens
(see `render_guarded`): the template's text is tokenized with special-token parsing, a
message that spells a control token as plain text."""

from __future__ import annotations

from collections.abc import Sequence

from causerie.core.types import Message, ToolSpec
from causerie.engine.llamacpp.model import LlamaRuntime
from causerie.engine.templates import ChatTemplate, render_guarded


def chat_tokens(
    runtime: LlamaRuntime,
    template: ChatTemplate,
    messages: Sequence[Message],
    tools: Sequence[ToolSpec],
) -> list[int]:
    tokens: list[int] = []
    for text, plain in render_guarded(template, messages, tools, runtime.controls):
        bos = runtime.add_bos and not tokens
        if plain:
            if bos:
                tokens.append(runtime.bos)
            tokens += runtime.tokenize(
                text, add_special=False, parse_special=False, param="messages"
            )
        else:
            tokens += runtime.tokenize(text, add_special=bos, parse_special=True, param="messages")
    return tokens
