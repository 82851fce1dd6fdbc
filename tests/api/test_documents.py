"""Documents through real HTTP on SQLite and PostgreSQL: every file type uploads, is read
and becomes searchable; limits; archive bombs; delete; re-index; and isolation: canaries
in one user's documents never reach another user's searches, retrieval or routes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from causerie.chat.retrieval import retrieve
from causerie.store.db import Database, default_url
from tests.api.test_conversations import user
from tests.conftest import Server, start_server, stop_server
from tests.support.documents import make_docx, make_pdf, make_zip_bomb, wait_indexed
from tests.support.postgres import BACKENDS
from tests.support.web import Browser, fresh_database


@dataclass
class App:
    server: Server
    db: Database

    def uploads(self, browser: Browser) -> set[str]:
        folder = self.server.data_dir / "uploads" / browser.user["id"]
        return {p.name for p in folder.iterdir()} if folder.exists() else set()

    def search(self, browser: Browser, query: str) -> list[str]:
        with self.db.unit() as uow:
            return [h.text for h in uow.documents.search_chunks(browser.user["id"], query, 50)]


@pytest.fixture(scope="module", params=BACKENDS)
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    folder = tmp_path_factory.mktemp("documents")
    with fresh_database(str(request.param), folder) as url:
        srv = start_server(folder, "--ctx-size", "512", "--parallel", "1", "--database-url", url)
        database = Database(url)
        try:
            yield App(srv, database)
        finally:
            database.close()
            stop_server(srv)


def post_file(browser: Browser, filename: str, data: bytes, mime: str) -> httpx.Response:
    headers = {"X-CSRF-Token": browser.csrf or "", "Content-Type": mime}
    return browser.http.post(
        "/api/documents", params={"filename": filename}, content=data, headers=headers
    )


def upload(browser: Browser, filename: str, data: bytes, mime: str = "") -> dict[str, Any]:
    """Upload (answered at once, `queued`) and wait until the indexer is done with it."""
    response = post_file(browser, filename, data, mime or "application/octet-stream")
    assert response.status_code == 202, response.text
    assert response.json()["status"] in ("queued", "indexing", "ready")
    return wait_indexed(browser, response.json()["id"])


def samples(word: str) -> dict[str, bytes]:
    """One small real file per supported type, each holding `word<ext>`."""
    return {
        "notes.txt": f"Plain notes.\n\nThe {word}txt lives here.".encode(),
        "guide.md": f"# Guide\n\n## Part\n\nThe {word}md lives here.".encode(),
        "page.html": (
            f"<h1>Page</h1><p>The {word}html lives here.</p><script>var {word}js=1</script>"
        ).encode(),
        "paper.pdf": make_pdf(["Cover", f"The {word}pdf lives here."]),
        "report.docx": make_docx([(1, "Report"), (0, f"The {word}docx lives here.")]),
    }


def test_each_type_uploads_is_read_and_searchable(app: App) -> None:
    alice = user(app.server, "reader")
    for filename, data in samples("zebulon").items():
        doc = upload(alice, filename, data)
        assert doc["status"] == "ready" and doc["filename"] == filename
        assert doc["size"] == len(data) and isinstance(doc["chunk_count"], int)
        assert doc["chunk_count"] >= 1
    listed = alice.get("/api/documents").json()["data"]
    assert sorted(d["filename"] for d in listed) == sorted(samples("x"))
    for ext in ("txt", "md", "html", "pdf", "docx"):
        assert any(f"zebulon{ext}" in text for text in app.search(alice, f"zebulon{ext}")), ext
    assert app.search(alice, "zebulonjs") == []  # scripts are not text
    assert len(app.uploads(alice)) == 5
    assert all(len(name) >= 32 and "report" not in name for name in app.uploads(alice))
    pdf = next(d for d in listed if d["filename"] == "paper.pdf")
    assert alice.get(f"/api/documents/{pdf['id']}").json()["mime"] == "application/pdf"


def test_pasted_text_and_retrieval_within_budget(app: App) -> None:
    bob = user(app.server, "paster")
    r = bob.send(
        "POST",
        "/api/documents/text",
        json={"title": "Recipe", "text": "# Soup\n\nBoil quarkonium leeks."},
    )
    assert r.status_code == 202, r.text
    wait_indexed(bob, r.json()["id"])
    long = "\n\n".join(f"Paragraph {i} about quarkonium and other things." * 8 for i in range(60))
    upload(bob, "long.md", f"# Long\n\n{long}".encode())
    passages = retrieve(app.db, bob.user["id"], "quarkonium leeks", budget_chars=3000)
    assert passages and sum(len(p.text) for p in passages) <= 3000
    small = next(p for p in passages if p.filename == "Recipe.md")
    assert small.whole and "Boil quarkonium leeks." in small.text
    assert any(not p.whole and p.filename == "long.md" for p in passages)
    assert retrieve(app.db, bob.user["id"], "quarkonium", budget_chars=0) == []


def test_limits_type_and_size(app: App) -> None:
    carol = user(app.server, "limits")
    cases = [
        ("tool.exe", b"MZ\x90\x00"),
        ("fake.pdf", b"I am not a PDF at all"),
        ("fake.docx", b"plain text in disguise"),
        ("fake.txt", make_pdf(["hidden"])),
        ("noext", b"hello"),
        ("empty.txt", b""),
    ]
    for filename, data in cases:
        r = carol.send("POST", "/api/documents", params={"filename": filename}, content=data)
        assert r.status_code == 400, (filename, r.text)
        assert r.json()["error"]["message"]
    big = carol.send(
        "POST",
        "/api/documents",
        params={"filename": "big.txt"},
        content=b"a" * (20 * 1024 * 1024 + 1),
    )
    assert big.status_code == 413, big.text
    assert big.json()["error"]["code"] == "file_too_large"
    assert carol.get("/api/documents").json()["data"] == []
    assert app.uploads(carol) == set()


@pytest.mark.parametrize("declared", [None, 4 * 1024**3])
def test_zip_bomb_refused_quickly_without_storing(app: App, declared: int | None) -> None:
    dave = user(app.server, "bomber")
    bomb = make_zip_bomb(inflated=64 * 1024 * 1024 if declared is None else 1000, declared=declared)
    started = time.monotonic()
    r = dave.send("POST", "/api/documents", params={"filename": "bomb.docx"}, content=bomb)
    assert r.status_code == 400 and r.json()["error"]["code"] == "archive_bomb", r.text
    assert time.monotonic() - started < 5
    assert dave.get("/api/documents").json()["data"] == [] and app.uploads(dave) == set()


def test_delete_removes_chunks_and_file_and_reindex(app: App) -> None:
    erin = user(app.server, "deleter")
    doc = upload(erin, "gone.md", b"# Gone\n\nThe flibbertigibbet sentence.")
    keep = upload(erin, "kept.txt", b"The flibbertigibbet stays here.")
    assert len(app.search(erin, "flibbertigibbet")) == 2
    again = erin.send("POST", f"/api/documents/{keep['id']}/reindex", params={"wait": "true"})
    assert again.status_code == 200 and again.json()["chunk_count"] == keep["chunk_count"]
    assert again.json()["status"] == "ready"
    assert len(app.search(erin, "flibbertigibbet")) == 2  # re-indexing does not duplicate
    assert erin.send("DELETE", f"/api/documents/{doc['id']}").status_code == 204
    assert app.search(erin, "flibbertigibbet") == ["The flibbertigibbet stays here."]
    assert len(app.uploads(erin)) == 1
    assert erin.get(f"/api/documents/{doc['id']}").status_code == 404
    assert erin.send("DELETE", f"/api/documents/{doc['id']}").status_code == 404
    for name in app.uploads(erin):  # the stored file vanished: re-index says so
        (app.server.data_dir / "uploads" / erin.user["id"] / name).unlink()
    queued = erin.send("POST", f"/api/documents/{keep['id']}/reindex")
    assert queued.status_code == 202 and queued.json()["status"] == "queued"
    broken = wait_indexed(erin, keep["id"])
    assert broken["status"] == "error" and broken["chunk_count"] == 0 and broken["error"]
    assert app.search(erin, "flibbertigibbet") == []


def test_isolation_canaries_never_cross_users(app: App) -> None:
    owner, other = user(app.server, "owner"), user(app.server, "intruder")
    docs = [upload(owner, name, data) for name, data in samples("canarywxq").items()]
    pasted = owner.send(
        "POST", "/api/documents/text", json={"title": "t", "text": "canarywxqtext secret"}
    )
    docs.append(wait_indexed(owner, pasted.json()["id"]))
    upload(other, "mine.txt", b"Other user text mentioning canaries and lives here.")
    queries = [
        "canarywxq",
        "canarywxqtxt",
        "canarywxqpdf lives here",
        "lives here",
        "canary",
        "the",
    ]
    for query in queries:
        assert all("canarywxq" not in t for t in app.search(other, query)), query
        for passage in retrieve(app.db, other.user["id"], query, budget_chars=100_000):
            assert "canarywxq" not in passage.text and passage.filename == "mine.txt"
    assert app.search(other, "lives here")  # the intruder does find their own text
    assert len(app.search(owner, "canarywxq")) >= 5
    assert all(d["filename"] == "mine.txt" for d in other.get("/api/documents").json()["data"])
    for doc in docs:
        path = f"/api/documents/{doc['id']}"
        assert other.get(path).status_code == 404
        assert other.send("POST", f"{path}/reindex").status_code == 404
        assert other.send("DELETE", path).status_code == 404
        assert owner.get(path).status_code == 200  # still there, untouched
    assert len(app.uploads(owner)) == len(docs)


def long_markdown(word: str, paragraphs: int = 80) -> bytes:
    body = "\n\n".join(f"Paragraph {i} of the {word} ledger. " * 10 for i in range(paragraphs))
    return f"# Ledger\n\n{body}".encode()


def test_upload_answers_at_once_then_indexes_with_progress(app: App) -> None:
    fay = user(app.server, "progress")
    r = post_file(fay, "ledger.md", long_markdown("quillwort"), "text/markdown")
    assert r.status_code == 202, r.text
    first = r.json()
    assert (first["status"], first["progress_done"], first["progress_total"]) == ("queued", 0, 0)
    assert first["chunk_count"] == 0
    seen = [(first["status"], 0, 0)]
    deadline = time.monotonic() + 60
    while seen[-1][0] not in ("ready", "error") and time.monotonic() < deadline:
        body = fay.get(f"/api/documents/{first['id']}").json()
        seen.append((body["status"], body["progress_done"], body["progress_total"]))
    status, done, total = seen[-1]
    assert status == "ready" and total > 16 and done == total  # several batches
    order = ["queued", "indexing", "ready"]
    assert [order.index(s) for s, _, _ in seen] == sorted(order.index(s) for s, _, _ in seen)
    assert all(0 <= d <= t for _, d, t in seen)
    listed = {d["id"]: d for d in fay.get("/api/documents").json()["data"]}
    assert listed[first["id"]]["chunk_count"] == listed[first["id"]]["progress_total"] == total
    assert app.search(fay, "quillwort")

    blank = post_file(fay, "blank.txt", b"  \n\n\t \n", "text/plain")
    assert blank.status_code == 202 and blank.json()["status"] == "queued"
    failed = wait_indexed(fay, blank.json()["id"])
    assert failed["status"] == "error" and "no text" in failed["error"]
    assert failed["chunk_count"] == 0

    waited = fay.send("POST", "/api/documents/text", params={"wait": "true"},
                      json={"title": "w", "text": "The waited wombat."})  # fmt: skip
    assert waited.status_code == 201 and waited.json()["status"] == "ready", waited.text


def test_delete_while_indexing_leaves_nothing(app: App) -> None:
    gus = user(app.server, "hasty")
    doc = post_file(gus, "big.md", long_markdown("evanescent", 200), "text/markdown").json()
    assert doc["status"] == "queued"
    assert gus.send("DELETE", f"/api/documents/{doc['id']}").status_code == 204
    # the indexer takes documents in order: once a later one is ready, it is past the first
    later = post_file(gus, "later.txt", b"A later note.", "text/plain").json()
    assert wait_indexed(gus, later["id"])["status"] == "ready"
    with app.db.unit() as uow:
        assert uow.documents.chunks(gus.user["id"], doc["id"]) == []
    assert app.search(gus, "evanescent") == []
    assert len(app.uploads(gus)) == 1  # only the later file
    assert gus.get(f"/api/documents/{doc['id']}").status_code == 404
    with app.db.unit() as uow:  # as the indexer holds it between two batches
        row = uow.documents.get(gus.user["id"], later["id"])
        assert row is not None
        row.status, row.progress_done, row.progress_total = "indexing", 0, 1
        uow.commit()
    busy = gus.send("POST", f"/api/documents/{later['id']}/reindex")
    assert busy.status_code == 409 and busy.json()["error"]["code"] == "conflict", busy.text
    assert gus.get(f"/api/documents/{later['id']}").json()["progress_total"] == 1
    assert gus.send("DELETE", f"/api/documents/{later['id']}").status_code == 204
    with app.db.unit() as uow:
        assert uow.documents.chunks(gus.user["id"], later["id"]) == []
    assert app.uploads(gus) == set()


def test_restart_queues_again_what_was_left_indexing(tmp_path: Path) -> None:
    srv = start_server(tmp_path, "--ctx-size", "512", "--parallel", "1")
    try:
        hal = user(srv, "restart")
        doc = post_file(hal, "ledger.md", long_markdown("palimpsest"), "text/markdown").json()
        total = wait_indexed(hal, doc["id"])["chunk_count"]
    finally:
        stop_server(srv)
    db = Database(default_url(tmp_path))
    try:
        with db.unit() as uow:  # as a server killed in the middle of indexing leaves it
            row = uow.documents.get(hal.user["id"], doc["id"])
            assert row is not None
            uow.documents.replace_chunks(row, [])
            row.status, row.progress_done, row.progress_total = "indexing", 3, total
            row.index_heartbeat = datetime.now(UTC) - timedelta(hours=1)  # its worker is gone
            uow.commit()
        srv = start_server(tmp_path, "--ctx-size", "512", "--parallel", "1")
        try:
            again = Browser(srv.url)
            assert again.login(hal.user["email"]).status_code == 200
            ready = wait_indexed(again, doc["id"])
        finally:
            stop_server(srv)
        assert ready["status"] == "ready" and ready["progress_done"] == total
        with db.unit() as uow:
            assert len(uow.documents.search_chunks(hal.user["id"], "palimpsest", 50)) > 0
    finally:
        db.close()
