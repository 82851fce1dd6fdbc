"""Short conversation titles written by the model, in the conversation's own language."""

from __future__ import annotations

import re

from causerie.core.errors import CauserieError
from causerie.core.types import GenerationRequest, Message, SamplingParams
from causerie.engine.base import Engine

MAX_TITLE = 60
INSTRUCTION = (
    "Write a title of at most six words for the conversation below. Use the same language "
    "as the user's message. Reply with the title only, without quotes."
)


def fallback_title(text: str) -> str:
    words = text.strip().split()
    title = " ".join(words[:6])
    return title[:MAX_TITLE]


def clean_title(raw: str) -> str:
    line = raw.strip().splitlines()[0] if raw.strip() else ""
    line = re.sub(r"^(title|titre)\s*:\s*", "", line, flags=re.IGNORECASE)
    line = line.strip(" \"'«»*#`.")
    return line[:MAX_TITLE].strip()


async def make_title(engine: Engine, history: list[Message], answer: str) -> str:
    question = next((m.content for m in reversed(history) if m.role == "user"), "")
    prompt = f"User: {question[:500]}\nAssistant: {answer[:500]}"
    request = GenerationRequest(
        model="",
        params=SamplingParams(temperature=0.0, max_tokens=16, stop=("\n",)),
        messages=(Message("system", INSTRUCTION), Message("user", prompt)),
    )
    text: list[str] = []
    try:
        stream = await engine.submit(request)
        async for event in stream:
            text.append(event.text)
    except CauserieError:
        return fallback_title(question)
    return clean_title("".join(text)) or fallback_title(question)
