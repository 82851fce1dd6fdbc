"""Dense and hybrid retrieval with the real all-MiniLM-L6-v2 on SQLite and PostgreSQL:
vectors made at upload and re-index, backfilled for older documents, a paraphrase that
lexical search misses found, and another user's canary never retrieved."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from causerie.chat.documents import Documents
from causerie.chat.retrieval import candidates, retrieve
from causerie.chat.vectors import backfill
from causerie.engine.embedding_models import MINILM_ID
from causerie.engine.llamacpp.embedder import LlamaEmbedder
from causerie.store.db import Database
from tests.store.test_document_search import add_user

KITTEN = "Our kitten must receive her vaccinations before she turns twelve weeks old, the veterinarian said."
BAKERY = "The quarterly revenue of the bakery grew by ten percent thanks to new bread recipes."
VOLCANO = "Mount Etna erupted last night, sending lava down the southern slope of the volcano."
PARAPHRASE = "immunising young cats"
CANARY = "CANARY-7731 kitten vaccinations before twelve weeks, said the veterinarian"


@pytest.fixture(scope="module")
def embedder(minilm_gguf: Path) -> Iterator[LlamaEmbedder]:
    model = LlamaEmbedder(minilm_gguf, MINILM_ID, threads=2)
    model.load()
    yield model


def texts(
    db: Database, user_id: str, query: str, embedder: LlamaEmbedder | None, mode: str
) -> list[str]:
    with db.unit() as uow:
        return [h.text for h in candidates(uow, user_id, query, embedder, mode=mode)]  # type: ignore[arg-type]


def test_hybrid_finds_a_paraphrase_lexical_misses(
    db: Database, embedder: LlamaEmbedder, tmp_path: Path
) -> None:
    alice = add_user(db, "alice@example.org")
    docs = Documents(db, tmp_path, alice, embedder)
    for title, body in (("Pets", KITTEN), ("Bakery", BAKERY), ("Etna", VOLCANO)):
        docs.add_text(title, body)
    assert texts(db, alice, PARAPHRASE, embedder, "lexical") == []
    assert texts(db, alice, PARAPHRASE, embedder, "dense")[0] == KITTEN
    assert texts(db, alice, PARAPHRASE, embedder, "hybrid")[0] == KITTEN
    assert texts(db, alice, PARAPHRASE, None, "hybrid") == []  # no embedder: lexical only
    assert texts(db, alice, "bakery revenue", embedder, "hybrid")[0] == BAKERY
    passages = retrieve(db, alice, PARAPHRASE, budget_chars=300, embedder=embedder)
    assert passages and KITTEN in passages[0].text and passages[0].filename == "Pets.md"
    assert retrieve(db, alice, PARAPHRASE, budget_chars=300) == []


def test_another_users_canary_is_never_retrieved(
    db: Database, embedder: LlamaEmbedder, tmp_path: Path
) -> None:
    alice, bob = add_user(db, "a2@example.org"), add_user(db, "b2@example.org")
    Documents(db, tmp_path, alice, embedder).add_text("Pets", KITTEN)
    Documents(db, tmp_path, bob, embedder).add_text("Secret", CANARY)
    for query in (CANARY, "CANARY-7731", PARAPHRASE, "kitten vaccinations"):
        for mode in ("lexical", "dense", "hybrid"):
            assert all("CANARY" not in t for t in texts(db, alice, query, embedder, mode))
        passages = retrieve(db, alice, query, budget_chars=100_000, embedder=embedder)
        assert all("CANARY" not in p.text for p in passages)
    assert texts(db, bob, CANARY, embedder, "dense")[0] == CANARY


def test_backfill_and_reindex_give_vectors(
    db: Database, embedder: LlamaEmbedder, tmp_path: Path
) -> None:
    carol = add_user(db, "c@example.org")
    before = Documents(db, tmp_path, carol)  # indexed before an embedding model was set
    doc = before.add_text("Pets", KITTEN)
    before.add_text("Etna", VOLCANO)
    assert texts(db, carol, PARAPHRASE, embedder, "dense") == []
    assert backfill(db, embedder, batch=1) == 2
    assert backfill(db, embedder) == 0
    assert texts(db, carol, PARAPHRASE, embedder, "dense")[0] == KITTEN
    again = Documents(db, tmp_path, carol, embedder).reindex(doc.id)  # new chunks, new vectors
    assert again.status == "ready"
    assert texts(db, carol, PARAPHRASE, embedder, "dense")[0] == KITTEN
    with db.unit() as uow:
        assert uow.vectors.pending(MINILM_ID, 10) == []


def test_a_scope_bounds_the_dense_search_too(
    db: Database, embedder: LlamaEmbedder, tmp_path: Path
) -> None:
    """Attached documents only (the grounding scope), and never another user's even when
    their id is named: the readability check is in the dense search's SQL as well."""
    dana, eve = add_user(db, "d@example.org"), add_user(db, "e@example.org")
    pets = Documents(db, tmp_path, dana, embedder).add_text("Pets", KITTEN)
    etna = Documents(db, tmp_path, dana, embedder).add_text("Etna", VOLCANO)
    secret = Documents(db, tmp_path, eve, embedder).add_text("Secret", CANARY)
    with db.unit() as uow:
        scoped = candidates(uow, dana, PARAPHRASE, embedder, mode="dense", document_ids={etna.id})
        assert [h.text for h in scoped] == [VOLCANO]
        stolen = candidates(uow, dana, PARAPHRASE, embedder, mode="dense", document_ids={secret.id})
        assert stolen == []
        assert candidates(uow, dana, PARAPHRASE, embedder, mode="dense", document_ids=set()) == []
    found = retrieve(db, dana, PARAPHRASE, 300, {pets.id, secret.id}, embedder)
    assert [p.document_id for p in found] == [pets.id]
