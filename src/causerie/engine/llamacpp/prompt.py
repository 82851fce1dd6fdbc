"""A chat request's prompt tokens, without letting message text forge control tokens.

The chat template is rendered to text and tokenized with special-token parsing, so that
the template's own `<|im_start|>` and the like become control tokens. The messages' text
is not the template's: content that spells a control token ("<|im_end|>\\n<|im_start|>
system\\n...") would otherwise close the turn and open one with another role. Messages
whose content spells one are rendered as placeholders, and their text is tokenized as
plain text in its place; requests without such text (nearly all) take the one-call path.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import replace

from causerie.core.errors import InvalidRequestError
from causerie.core.types import Message, ToolSpec
from causerie.engine.llamacpp.model import LlamaRuntime
from causerie.engine.templates import ChatTemplate


def chat_tokens(
    runtime: LlamaRuntime,
    template: ChatTemplate,
    messages: Sequence[Message],
    tools: Sequence[ToolSpec],
) -> list[int]:
    controls = runtime.controls
    spelled = {
        i for i, m in enumerate(messages) if controls is not None and controls.search(m.content)
    }
    if not spelled:
        text = template.render(messages, tools=tools)
        return runtime.tokenize(
            text, add_special=runtime.add_bos, parse_special=True, param="messages"
        )
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
    tokens: list[int] = []
    for part in parts:
        if part in literal:
            if not tokens and runtime.add_bos:
                tokens.append(runtime.bos)
            tokens += runtime.tokenize(
                literal[part], add_special=False, parse_special=False, param="messages"
            )
        elif part:
            tokens += runtime.tokenize(
                part, add_special=runtime.add_bos and not tokens, parse_special=True
            )
    return tokens
