"""Conversation titles (chat/titles.py): code fences never make a title, long titles are
cut at a word boundary with an ellipsis, and a model title that is only code falls back
to the question's first words."""

from __future__ import annotations

import asyncio

import pytest

from causerie.chat.titles import MAX_TITLE, clean_title, fallback_title, make_title, shorten
from tests.support.fake_engine import ScriptedEngine

LONG = (
    "I think this is one of the most beautiful songs ever written, of all time. I've "
    "always loved it"
)


@pytest.mark.parametrize(
    "raw",
    ["```python", "```python\nprint('hi')\n```", "~~~ js", "```\n", "  ```c++  "],
)
def test_a_fence_and_its_language_tag_are_no_title(raw: str) -> None:
    assert clean_title(raw) == ""


@pytest.mark.parametrize(
    ("raw", "title"),
    [
        ("```python\nprint('hi')\n```\nPrinting in Python", "Printing in Python"),
        ("Title: Sorting lists\nmore", "Sorting lists"),
        ('"Hello world."', "Hello world"),
        ("**Bold move**", "Bold move"),
    ],
)
def test_the_title_is_the_first_line_of_prose(raw: str, title: str) -> None:
    assert clean_title(raw) == title


def test_a_long_title_is_cut_at_a_word_boundary_with_an_ellipsis() -> None:
    title = clean_title(LONG)
    assert len(title) <= MAX_TITLE and title.endswith("…")
    assert title == "I think this is one of the most beautiful songs ever…"
    assert LONG.startswith(title[:-1]) and LONG[len(title) - 1] == " "  # whole words only


def test_shorten_keeps_short_text_and_cuts_one_endless_word() -> None:
    assert shorten("Short  and\nsweet") == "Short and sweet"
    assert shorten("x" * 100) == "x" * (MAX_TITLE - 1) + "…"
    assert shorten("a" * 59 + " b") == "a" * 59 + "…"
    exact = "word " * 11 + "words"  # 60 characters: kept whole
    assert len(exact) == MAX_TITLE and shorten(exact) == exact


def test_the_fallback_is_the_questions_first_words_without_code() -> None:
    assert fallback_title("How do I sort a list in Python quickly?") == "How do I sort a list"
    assert fallback_title("```python\nxs.sort()\n```\nWhy is this slow?") == "Why is this slow?"
    assert fallback_title("```python\nprint('hi')\n```") == "print('hi')"  # code only: its code
    word = "Supercalifragilistic" * 4
    assert fallback_title(word) == word[: MAX_TITLE - 1] + "…"


def test_a_model_title_that_is_only_a_fence_falls_back_to_the_question() -> None:
    engine = ScriptedEngine(("```", "python"))
    answer = "```python\nxs.sort()\n```"
    title = asyncio.run(make_title(engine, "How do I sort a list in Python?", answer))
    assert title == "How do I sort a list"
