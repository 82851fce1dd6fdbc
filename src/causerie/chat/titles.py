"""Short conversation titles written by the model, in the conversation's own language.

A title is one line of plain words: code fences (with their language tag and the code
they hold) never make one, and a long title is cut at a word boundary with an ellipsis,
so it is at most MAX_TITLE characters."""

from __future__ import annotations

import re

from causerie.core.errors import CauserieError
from causerie.core.types import GenerationRequest, Message, SamplingParams
from causerie.engine.base import Engine

MAX_TITLE = 60
FALLBACK_WORDS = 6
INSTRUCTION = (
    "Write a title of at most six words for the conversation below. Use the same language "
    "as the user's message. Reply with the title only, without quotes."
)
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")  # opens or closes a fenced code block
_LABEL = re.compile(r"^(title|titre)\s*:\s*", re.IGNORECASE)


def shorten(text: str, limit: int = MAX_TITLE) -> str:
    """`text` on one line, cut at the last word boundary before `limit` with an ellipsis
    (a single word longer than `limit` is cut where it must be)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]  # room for the ellipsis
    if text[limit - 1] != " " and " " in cut:  # mid-word: back to the last whole word
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:.!?-–—(") + "…"


def _prose_lines(text: str) -> list[str]:
    """The non-empty lines of `text` outside fenced code blocks (an unclosed fence hides
    the rest, as a cut answer's would)."""
    lines: list[str] = []
    in_code = False
    for line in text.splitlines():
        if _FENCE.match(line):
            in_code = not in_code
        elif not in_code and line.strip():
            lines.append(line.strip())
    return lines


def fallback_title(text: str) -> str:
    """A title from the question itself: its first words, of its prose when it has some."""
    lines = _prose_lines(text) or [line for line in text.splitlines() if not _FENCE.match(line)]
    words = " ".join(lines).split()
    return shorten(" ".join(words[:FALLBACK_WORDS]).strip(" \"'«»*#`"))


def clean_title(raw: str) -> str:
    """The model's title as shown: its first line of prose, without a `Title:` label,
    quotes or markdown marks around it."""
    lines = _prose_lines(raw.replace("\x00", ""))
    line = _LABEL.sub("", lines[0]) if lines else ""
    line = line.strip(" \"'«»*#`.")
    return shorten(line).strip()


async def make_title(engine: Engine, question: str, answer: str) -> str:
    """A title for the exchange `question` -> `answer` (the question's first words when
    the model fails or writes no usable title)."""
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
