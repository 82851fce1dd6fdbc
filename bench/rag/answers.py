"""The `--answers` half of bench/rag: ask the bundled model each question with retrieved
passages numbered [1]…[n] and check that its answer cites the one holding the answer,
by its own [n] markers and as attributed by the chat layer (`chat.attribution`: the
model's valid markers, then the overlap of each uncited sentence with the passages).

The prompt is the chat layer's own (`chat.grounding.grounded`), exactly what a grounded
conversation sends: numbered, quoted sources before the question, with the rule to cite.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass

from causerie.chat.attribution import attribute
from causerie.chat.grounding import Grounding, grounded
from causerie.chat.retrieval import Passage
from causerie.core.types import GenerationRequest, Message, SamplingParams
from causerie.engine.base import Engine

CITATION = re.compile(r"\[(\d{1,2})\]")


def citation_messages(question: str, passages: Sequence[Passage]) -> list[Message]:
    """The user turn a grounded conversation sends for `question` with `passages`."""
    return grounded([Message(role="user", content=question)], Grounding(list(passages)))


@dataclass(frozen=True, slots=True)
class Answer:
    text: str
    cited: tuple[int, ...]
    right: tuple[int, ...]  # numbers of the passages that hold the answer
    attributed: tuple[int, ...] = ()  # sources of its citations, by the model or by overlap

    @property
    def cites_right_source(self) -> bool:
        return any(n in self.right for n in self.cited)

    @property
    def attributed_right_source(self) -> bool:
        return any(n in self.right for n in self.attributed)


async def answer(
    engine: Engine, question: str, passages: Sequence[Passage], right: Sequence[int]
) -> Answer:
    params = SamplingParams(temperature=0.0, max_tokens=96)
    request = GenerationRequest(
        model="", params=params, messages=tuple(citation_messages(question, passages))
    )
    stream = await engine.submit(request)
    parts = [event.text async for event in stream]
    text = "".join(parts)
    cited = tuple(int(n) for n in CITATION.findall(text))
    citations = attribute(text, [p.text for p in passages], question)
    attributed = tuple(sorted({int(c["n"]) for c in citations}))
    return Answer(text=text, cited=cited, right=tuple(right), attributed=attributed)


async def answer_all(
    engine: Engine, items: Sequence[tuple[str, Sequence[Passage], Sequence[int]]]
) -> list[Answer]:
    return list(await asyncio.gather(*(answer(engine, q, p, r) for q, p, r in items)))
