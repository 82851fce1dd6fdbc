"""The fast per-token SSE frame equals what the pydantic models would produce."""

from __future__ import annotations

import pytest

from causerie.api.openai.frames import ContentFrames
from causerie.api.openai.protocol import ChatChunkChoice, ChatCompletionChunk, ChatDelta
from causerie.api.sse import sse


@pytest.mark.parametrize("text", ["Hello", " wörld 🌍", 'quote " and \\ back', "\n\t", "<b>&</b>"])
def test_fast_frame_matches_the_models(text: str) -> None:
    fast = ContentFrames("chatcmpl-1", 1700000000, 'smöll "m"')(text)
    slow = ChatCompletionChunk(
        id="chatcmpl-1", created=1700000000, model="smöll \"m\"",
        choices=[ChatChunkChoice(delta=ChatDelta(content=text))],
    )  # fmt: skip
    assert fast == sse(slow.model_dump(exclude_none=False))
