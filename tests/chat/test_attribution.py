"""Attribution of a grounded answer's sentences to its sources: supported sentences find
their passage, unrelated ones and stop words find none, the model's own valid markers
are kept, and the citations are stored with the answer (its text untouched) and sent."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from causerie.chat.attachments import Attachments
from causerie.chat.attribution import attribute, sentences
from causerie.chat.conversations import Conversations
from causerie.chat.documents import Documents
from causerie.chat.replies import Replies
from causerie.store.db import Database
from tests.chat.test_toolloop import CALL, ScriptsEngine
from tests.store.test_document_search import add_user
from tests.support.fake_engine import ScriptedEngine

DEPOT = "Depot notes.\n\nThe door code of the Quillfeather depot is 4417."
HERON = "Holidays are booked with the heron. The canteen opens at noon on weekdays."
CODES = "Codes change every spring. The Marrowby depot code is 6639 since March."


def cited(text: str, passages: list[str]) -> list[tuple[int, str, str]]:
    """(n, by, sentence) of each citation span."""
    return [(c["n"], c["by"], text[a:b]) for c in attribute(text, passages) for a, b in c["spans"]]


def test_a_supported_sentence_finds_its_source() -> None:
    text = "The door code of the Quillfeather depot is 4417."
    assert cited(text, [HERON, DEPOT]) == [(2, "overlap", text)]
    text = "Holidays are booked with the heron, and the door code is 4417."
    assert cited(text, [HERON, DEPOT]) == [(2, "overlap", text)]  # the code outweighs


def test_an_unrelated_sentence_cites_nothing() -> None:
    text = "Paris is the capital of France. The code is 4417."
    assert cited(text, [DEPOT, HERON]) == [(1, "overlap", "The code is 4417.")]
    assert attribute("Bananas grow in warm countries.", [DEPOT, HERON]) == []
    assert attribute("", [DEPOT]) == [] and attribute("The code is 4417.", []) == []


def test_stop_words_alone_never_cite() -> None:
    passage = "It is what it is, and it was there for all of them to see."
    assert attribute("It is what it is. It was there for all of them.", [passage]) == []
    # one shared common word is not enough either
    assert attribute("The notes were lost.", [DEPOT]) == []


def test_numbers_and_names_weigh_more() -> None:
    # same share of plain words; the number or the name decides
    assert cited("The code is 6639.", [DEPOT, CODES]) == [(2, "overlap", "The code is 6639.")]
    assert cited("Ask Marrowby about it.", [DEPOT, CODES])[0][0] == 2
    # a wrong number outweighs the plain words around it
    assert attribute("The door code of the depot is 9999.", [DEPOT]) == []


def test_model_markers_kept_and_invalid_ones_ignored() -> None:
    text = "The code is 4417 [1]. Holidays are booked with the heron [7]. Noon [2]."
    got = attribute(text, [DEPOT, HERON])
    assert got[0] == {"n": 1, "by": "model", "spans": [[0, 21]]}
    # [7] names no source: that sentence is left to overlap, which finds [2]
    heron = text.index("Holidays")
    assert {"n": 2, "by": "overlap", "spans": [[heron, text.index(" Noon")]]} in got
    assert {"n": 2, "by": "model", "spans": [[text.index("Noon"), len(text)]]} in got
    assert all(c["n"] in (1, 2) for c in got)
    # a marker after the full stop belongs to the sentence before it
    assert attribute("The code is 4417. [1]", [DEPOT]) == [
        {"n": 1, "by": "model", "spans": [[0, 21]]}
    ]


def test_sentences_split_on_stops_and_lines_with_offsets() -> None:
    text = "Hi there.  The code is 4.5 units!\n\n- item one\n- item two"
    got = sentences(text)
    assert [s.text for s in got] == ["Hi there.", "The code is 4.5 units!", "- item one",
                                     "- item two"]  # fmt: skip
    assert all(text[s.start : s.end] == s.text for s in got)


def test_citations_are_stored_and_sent_with_the_answer(db: Database, tmp_path: Path) -> None:
    alice = add_user(db, "alice@example.org")
    doc = Documents(db, tmp_path, alice).upload("depot.txt", DEPOT.encode())
    conv = Conversations(db, alice).create(title="t").id
    Attachments(db, alice).attach_to_conversation(conv, collection_id=None, document_id=doc.id)
    answer = "Hello! The door code of the Quillfeather depot is 4417. Bye."
    engine = ScriptedEngine([answer[:20], answer[20:]])

    async def run() -> list[tuple[str, dict[str, object]]]:
        return [(e.kind, e.data) async for e in Replies(db, engine, alice).send(conv, "Code?")]

    events = dict(asyncio.run(run()))
    expected = [{"n": 1, "by": "overlap", "spans": [[7, 55]]}]
    assert events["done"]["citations"] == expected
    stored = Conversations(db, alice).view(conv).messages[-1]
    assert stored.content == answer  # never changed
    assert stored.meta["citations"] == expected
    assert stored.meta["sources"][0]["document_id"] == doc.id


def test_a_sentence_echoing_the_question_is_not_supported() -> None:
    question = "What is the door code of the Quillfeather depot?"
    echo = "The door code of the Quillfeather depot is the door code."
    assert attribute(echo, [DEPOT], question) == []
    assert attribute(echo, [DEPOT]) != []  # without the question it would be
    fact = "The door code of the Quillfeather depot is 4417."
    assert cited(fact, [DEPOT]) == [(1, "overlap", fact)]
    assert attribute(fact, [DEPOT], question)[0]["n"] == 1


def test_a_grounded_answer_that_calls_a_tool_keeps_its_sources_to_the_end(
    db: Database, tmp_path: Path
) -> None:
    alice = add_user(db, "alice@example.org")
    doc = Documents(db, tmp_path, alice).upload("depot.txt", DEPOT.encode())
    conv = Conversations(db, alice).create(title="t", params={"tools": ["calculator"]}).id
    Attachments(db, alice).attach_to_conversation(conv, collection_id=None, document_id=doc.id)
    final = "The door code of the Quillfeather depot is 4417."
    engine = ScriptsEngine(["Let me compute. ", CALL], [final[:20], final[20:]])
    expected = [{"n": 1, "by": "overlap", "spans": [[0, len(final)]]}]

    async def run(regenerate: str | None = None) -> dict[str, dict[str, Any]]:
        replies = Replies(db, engine, alice)
        events = replies.regenerate(conv, regenerate) if regenerate else replies.send(conv, "Code?")
        return {e.kind: e.data async for e in events}

    events = asyncio.run(run())
    sources = events["start"]["sources"]
    assert sources[0]["document_id"] == doc.id
    assert events["continue"]["sources"] == sources  # as `start` gives them
    assert events["continue"]["assistant_message"].meta == {"sources": sources}
    assert events["done"]["citations"] == expected
    asked, result, answer = Conversations(db, alice).view(conv).messages[1:]
    assert asked.meta["tool_calls"][0]["name"] == "calculator"
    assert asked.meta["sources"] == sources
    assert "citations" not in asked.meta  # it handed over to the tool
    assert "sources" not in result.meta  # a tool result is not grounded
    assert (answer.content, answer.status) == (final, "complete")
    assert answer.meta == {"sources": sources, "citations": expected}

    again = asyncio.run(run(regenerate=answer.id))  # the final answer, answered again
    assert again["start"]["sources"] == sources and again["done"]["citations"] == expected
    assert Conversations(db, alice).view(conv).messages[-1].meta == answer.meta
