"""Fast SSE frames for the hot path of streaming: one content delta per token.

Building and dumping pydantic models for every token costs more than the token's decode
share on a small model. The frame's JSON is rendered once per request by the models
themselves around a placeholder, then each token only fills in its text.
"""

from __future__ import annotations

import json

from causerie.api.openai.protocol import ChatChunkChoice, ChatCompletionChunk, ChatDelta
from causerie.api.sse import sse

_MARK = "\u0000causerie-content\u0000"


class ContentFrames:
    """`data: {chat.completion.chunk with delta.content = text}` frames for one request."""

    def __init__(self, rid: str, created: int, model: str) -> None:
        chunk = ChatCompletionChunk(
            id=rid, created=created, model=model,
            choices=[ChatChunkChoice(delta=ChatDelta(content=_MARK))],
        )  # fmt: skip
        head, tail = sse(chunk.model_dump(exclude_none=False)).split(
            json.dumps(_MARK, ensure_ascii=False)
        )
        self._head, self._tail = head, tail

    def __call__(self, text: str) -> str:
        return self._head + json.dumps(text, ensure_ascii=False) + self._tail
