"""Which sources support which sentences of a grounded answer (pure functions, no engine).

The model's own markers `[n]` that name a given source count as `by: "model"`; a sentence
the model left uncited is matched to the passages by weighted overlap of content words and
shared word pairs (numbers, names and long words weigh more; stop words never count; a
number the passage lacks rules it out; a sentence that only echoes the question is not
supported), and cited `by: "overlap"` only above a threshold.
Spans are [start, end) offsets in code points into the answer text, never changed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from causerie.chat.stopwords import STOP_WORDS

WORD = re.compile(r"[^\W_]+(?:[.,'’\-][^\W_]+)*")
MARKER = re.compile(r"\[(\d{1,3})\]")
# a sentence ends at . ! ? (and closing quotes/brackets) before a space, or at a line break
SENTENCE_END = re.compile(r"(?<=[.!?。！？])[\"'”’)\]]*(?=\s)|\n+")

MIN_COVERAGE = 0.5  # share of a sentence's content weight found in the passage
MIN_MATCHED = 2.0  # and at least this much weight: one common word alone never cites
MIN_NEW = 1.0  # of which this much from words the question does not hold
PAIR_BONUS = 0.5  # per pair of adjacent content words found adjacent in the passage
NEAR_BEST = 0.9  # a second source is cited too when it scores this close to the best
MAX_PER_SENTENCE = 2


@dataclass(frozen=True, slots=True)
class Sentence:
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class _Passage:
    words: frozenset[str]
    pairs: frozenset[tuple[str, str]]
    names: frozenset[str]  # words written with a capital inside a sentence


def attribute(text: str, passages: Sequence[str], question: str = "") -> list[dict[str, Any]]:
    """`[{"n", "by", "spans": [[start, end], ...]}, ...]` for `text` answered from
    `passages` (source n is passages[n - 1]) to `question`; in order of first span,
    model first."""
    if not passages or not text.strip():
        return []
    asked = frozenset(w.key for w in _content(question))
    parsed = [_passage(p) for p in passages]
    rarity = _rarity(parsed)
    found: dict[tuple[int, str], list[list[int]]] = {}
    for sentence in sentences(text):
        marked = sorted(
            {int(n) for n in MARKER.findall(sentence.text) if 1 <= int(n) <= len(passages)}
        )
        if marked:
            for n in marked:
                found.setdefault((n, "model"), []).append([sentence.start, sentence.end])
            continue
        for n in supporting(sentence.text, parsed, rarity, asked):
            found.setdefault((n, "overlap"), []).append([sentence.start, sentence.end])
    ordered = sorted(found.items(), key=lambda kv: (kv[1][0][0], kv[0][1] != "model", kv[0][0]))
    return [{"n": n, "by": by, "spans": spans} for (n, by), spans in ordered]


def sentences(text: str) -> list[Sentence]:
    """The sentences of `text` with their offsets; a piece holding only markers ("[1]"
    after the full stop) belongs to the sentence before it."""
    out: list[Sentence] = []
    start = 0
    for cut in [*(m.end() for m in SENTENCE_END.finditer(text)), len(text)]:
        piece = text[start:cut]
        lead = len(piece) - len(piece.lstrip())
        body = piece.strip()
        if body:
            begin = start + lead
            end = begin + len(body)
            if out and not WORD.search(MARKER.sub("", body)):
                prev = out.pop()
                out.append(Sentence(prev.start, end, text[prev.start : end]))
            else:
                out.append(Sentence(begin, end, body))
        start = cut
    return out


def supporting(
    sentence: str,
    passages: Sequence[_Passage],
    rarity: dict[str, float] | None = None,
    asked: frozenset[str] = frozenset(),
) -> list[int]:
    """The numbers (1-based) of the passages that support `sentence`, best first."""
    tokens = _content(sentence)
    if not tokens:
        return []
    scores: list[tuple[float, int]] = []
    for n, passage in enumerate(passages, start=1):
        if any(_num(w) and w.key not in passage.words for w in tokens):
            continue  # a figure the passage does not hold: not what it says
        total = matched = new = 0.0
        for i, word in enumerate(tokens):
            weight = _weight(word, i, passage, rarity or {})
            total += weight
            if word.key in passage.words:
                matched += weight
                new += weight if word.key not in asked else 0.0
        pairs = sum(1 for a, b in pairwise(tokens) if (a.key, b.key) in passage.pairs)
        coverage = matched / total if total else 0.0
        if coverage >= MIN_COVERAGE and matched >= MIN_MATCHED and new >= MIN_NEW:
            scores.append((coverage + PAIR_BONUS * pairs / max(1, len(tokens)), n))
    if not scores:
        return []
    scores.sort(key=lambda s: (-s[0], s[1]))
    best = scores[0][0]
    return [n for score, n in scores[:MAX_PER_SENTENCE] if score >= NEAR_BEST * best]


# --- words ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Word:
    key: str  # lower case; numbers without their separators
    capital: bool
    first: bool  # the first word of its sentence


def _key(raw: str) -> str:
    word = raw.lower().replace("’", "'")
    return re.sub(r"[.,]", "", word) if any(c.isdigit() for c in word) else word


def _words(text: str) -> list[_Word]:
    out: list[_Word] = []
    after_end = True
    clean = MARKER.sub(lambda m: " " * len(m.group()), text)
    for m in WORD.finditer(clean):
        raw = m.group()
        out.append(_Word(_key(raw), raw[:1].isupper(), after_end))
        tail = clean[m.end() : m.end() + 2]
        after_end = bool(re.match(r"\s*[.!?\n]", tail)) or "\n" in tail
    return out


def _content(text: str) -> list[_Word]:
    return [w for w in _words(text) if w.key not in STOP_WORDS and (len(w.key) > 1 or _num(w))]


def _num(word: _Word) -> bool:
    return any(c.isdigit() for c in word.key)


def _passage(text: str) -> _Passage:
    words = _content(text)
    return _Passage(
        words=frozenset(w.key for w in words),
        pairs=frozenset((a.key, b.key) for a, b in pairwise(words)),
        names=frozenset(w.key for w in words if w.capital and not w.first),
    )


def _rarity(passages: Sequence[_Passage]) -> dict[str, float]:
    """A word found in every passage tells them apart less than one found in a few."""
    if len(passages) < 2:
        return {}
    counts: dict[str, int] = {}
    for p in passages:
        for word in p.words:
            counts[word] = counts.get(word, 0) + 1
    total = len(passages)
    return {w: 0.5 + 0.5 * math.log(total / c) / math.log(total) for w, c in counts.items()}


def _weight(word: _Word, index: int, passage: _Passage, rarity: dict[str, float]) -> float:
    if _num(word):
        weight = 3.0
    elif (word.capital and index > 0 and not word.first) or word.key in passage.names:
        weight = 2.0
    elif len(word.key) >= 8:
        weight = 1.5
    else:
        weight = 1.0
    return weight * rarity.get(word.key, 1.0)
