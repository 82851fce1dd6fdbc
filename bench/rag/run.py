"""bench/rag: recall@5 of lexical, dense and hybrid retrieval over the shipped documents,
and (`--answers`) the share of the bundled model's answers that cite the right source,
by the model's own [n] and as attributed (model markers or overlap, chat/attribution.py).

Indexes `docs/` into a fresh SQLite database through Causerie's own upload path, embeds
with all-MiniLM-L6-v2 (converted to GGUF once, under the temporary data dir unless
`--models-dir` is given), prints a table and writes bench/results/rag.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # answers.py, a sibling (bench/ is not a package)

from answers import answer_all  # noqa: E402

from causerie.chat.documents import Documents  # noqa: E402
from causerie.chat.retrieval import Mode, candidates, retrieve  # noqa: E402
from causerie.core.settings import Settings  # noqa: E402
from causerie.engine.embedding_models import MINILM, resolve_embedding_model  # noqa: E402
from causerie.engine.llamacpp.embedder import LlamaEmbedder  # noqa: E402
from causerie.store.db import Database  # noqa: E402
from causerie.store.migrate import upgrade  # noqa: E402

K = 5
MODES: tuple[Mode, ...] = ("lexical", "dense", "hybrid")
RESULTS = HERE.parent / "results" / "rag.json"
ANSWER_BUDGET = 4000  # characters of passages given with each question


def load_questions() -> list[dict[str, str]]:
    questions: list[dict[str, str]] = json.loads((HERE / "questions.json").read_text("utf-8"))
    for q in questions:
        text = (HERE / "docs" / q["document"]).read_text("utf-8")
        if q["passage"] not in text:
            raise SystemExit(f"passage not in {q['document']}: {q['passage']!r}")
    return questions


def index(db: Database, data_dir: Path, embedder: LlamaEmbedder) -> str:
    with db.unit() as uow:
        user_id: str = uow.users.add(email="bench@example.org", password_hash="x").id
        uow.commit()
    docs = Documents(db, data_dir, user_id, embedder)
    for path in sorted((HERE / "docs").glob("*.md")):
        docs.upload(path.name, path.read_bytes())
    return user_id


def ranks(
    db: Database, user_id: str, questions: list[dict[str, str]], embedder: LlamaEmbedder, mode: Mode
) -> list[int | None]:
    """For each question, the rank (1, 2, …) of the first chunk holding its passage."""
    out: list[int | None] = []
    with db.unit() as uow:
        for q in questions:
            hits = candidates(uow, user_id, q["question"], embedder, mode=mode)
            out.append(
                next(
                    (
                        rank
                        for rank, h in enumerate(hits, start=1)
                        if h.filename == q["document"] and q["passage"] in h.text
                    ),
                    None,
                )
            )
    return out


def summary(found: list[int | None], questions: list[dict[str, str]]) -> dict[str, Any]:
    n = len(found)
    return {
        f"recall@{K}": round(sum(1 for r in found if r is not None and r <= K) / n, 3),
        "recall@1": round(sum(1 for r in found if r == 1) / n, 3),
        "mrr": round(sum(1 / r for r in found if r is not None) / n, 3),
        "missed@5": [
            q["question"] for q, r in zip(questions, found, strict=True) if not r or r > K
        ],
    }


async def answers(
    db: Database, user_id: str, questions: list[dict[str, str]], embedder: LlamaEmbedder
) -> dict[str, Any]:
    from causerie.bootstrap import build_engine

    items = []
    for q in questions:
        passages = retrieve(db, user_id, q["question"], ANSWER_BUDGET, embedder=embedder)
        right = [
            n
            for n, p in enumerate(passages, start=1)
            if p.filename == q["document"] and q["passage"] in p.text
        ]
        items.append((q["question"], passages, right))
    engine = build_engine(Settings(ctx_size=2048, parallel=4, data_dir=Path(tempfile.mkdtemp())))
    await engine.start()
    try:
        started = time.perf_counter()
        replies = await answer_all(engine, items)
        seconds = time.perf_counter() - started
    finally:
        await engine.close()
    retrieved = [a for a in replies if a.right]
    return {
        "model": engine.models()[0].id,
        "questions": len(replies),
        "cite_right_source": sum(a.cites_right_source for a in replies) / len(replies),
        "cite_any_source": sum(bool(a.cited) for a in replies) / len(replies),
        "attributed_right_source": (sum(a.attributed_right_source for a in replies) / len(replies)),
        "attributed_any_source": sum(bool(a.attributed) for a in replies) / len(replies),
        "passage_given": len(retrieved) / len(replies),
        "cite_right_when_given": (
            sum(a.cites_right_source for a in retrieved) / len(retrieved) if retrieved else 0.0
        ),
        "seconds": round(seconds, 1),
        "samples": [
            {
                "question": q,
                "answer": a.text,
                "cited": list(a.cited),
                "attributed": list(a.attributed),
                "right": list(a.right),
            }
            for (q, _, _), a in zip(items, replies, strict=True)
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--answers", action="store_true", help="also ask the bundled model")
    parser.add_argument("--models-dir", type=Path, help="where the converted GGUF is kept")
    parser.add_argument("--limit", type=int, help="only the first N questions (a quick run)")
    args = parser.parse_args()
    questions = load_questions()[: args.limit] if args.limit else load_questions()
    with tempfile.TemporaryDirectory(prefix="causerie-rag-") as tmp:
        data_dir = Path(tmp)
        found = resolve_embedding_model(MINILM, args.models_dir or data_dir / "models")
        embedder = LlamaEmbedder(found.path, found.id, threads=os.cpu_count() or 1)
        embedder.load()
        db = Database(f"sqlite:///{data_dir}/rag.db")
        upgrade(db)
        started = time.perf_counter()
        user_id = index(db, data_dir, embedder)
        indexed = time.perf_counter() - started
        with db.unit() as uow:
            chunks = sum(d.chunk_count for d in uow.documents.owned(user_id))
        report: dict[str, Any] = {
            "k": K,
            "documents": len(list((HERE / "docs").glob("*.md"))),
            "chunks": chunks,
            "questions": len(questions),
            "embedding_model": found.id,
            "index_seconds": round(indexed, 2),
            "machine": platform.platform(),
            "retrieval": {},
        }
        for mode in MODES:
            report["retrieval"][mode] = summary(
                ranks(db, user_id, questions, embedder, mode), questions
            )
        if args.answers:
            report["answers"] = asyncio.run(answers(db, user_id, questions, embedder))
        db.close()
        asyncio.run(embedder.close())
    print(
        f"bench/rag: {report['documents']} documents, {chunks} chunks, {len(questions)} questions"
    )
    print(f"{'retrieval':<10} {'recall@' + str(K):>9} {'recall@1':>9} {'MRR':>6}")
    for mode in MODES:
        r = report["retrieval"][mode]
        print(f"{mode:<10} {r[f'recall@{K}']:>9.3f} {r['recall@1']:>9.3f} {r['mrr']:>6.3f}")
    if "answers" in report:
        a = report["answers"]
        print(f"answers by {a['model']}: cite the right source {a['cite_right_source']:.3f}")
        print(
            f"  attributed to the right source (model or overlap) "
            f"{a['attributed_right_source']:.3f} (any source {a['attributed_any_source']:.3f})"
        )
        print(
            f"  (cite any source {a['cite_any_source']:.3f}; right passage given "
            f"{a['passage_given']:.3f}; right when given {a['cite_right_when_given']:.3f})"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", "utf-8")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
