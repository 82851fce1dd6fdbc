"""`causerie docs add | list | rm` as a user runs them: real processes, real files, the
SQLite file of the data dir; bad files cost one line each and the others go on."""

from __future__ import annotations

from pathlib import Path

from causerie.chat.retrieval import retrieve
from causerie.store.db import Database
from tests.cli.test_cli import causerie
from tests.support.documents import make_docx, make_pdf


def test_docs_add_list_rm(tmp_path: Path) -> None:
    data = tmp_path / "data"
    made = causerie("users", "create-admin", "root@example.org", "--password-stdin",
                    "--data-dir", str(data), stdin="pw-for-docs-123\n")  # fmt: skip
    assert made.returncode == 0, made.stderr
    files = {
        "guide.md": b"# Guide\n\nThe pangolin key opens the shed.",
        "paper.pdf": make_pdf(["The pangolin paper."]),
        "report.docx": make_docx([(1, "Report"), (0, "The pangolin report.")]),
        "tool.exe": b"MZ\x90\x00",
        "empty.txt": b"",
    }
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    with (tmp_path / "huge.txt").open("wb") as handle:  # sparse: never read whole
        handle.truncate(21 * 1024 * 1024)
    paths = [str(tmp_path / n) for n in (*files, "huge.txt", "missing.md")]
    added = causerie("docs", "add", *paths, "--collection", "Work", "--data-dir", str(data))
    assert added.returncode == 1  # some failed
    errors = [line for line in added.stderr.splitlines() if line.startswith("causerie: error:")]
    assert len(errors) == 4, added.stderr
    for name in ("tool.exe", "empty.txt", "huge.txt", "missing.md"):
        assert sum(name in line for line in errors) == 1, (name, added.stderr)
    assert "Traceback" not in added.stderr
    assert "at most 20 MB" in added.stderr and "unsupported file type" in added.stderr
    assert "━" in added.stderr or "%" in added.stderr or "bytes" in added.stderr  # the bar
    listed = causerie("docs", "list", "--data-dir", str(data))
    assert listed.returncode == 0, listed.stderr
    rows = listed.stdout.splitlines()
    assert sorted(r.split()[-1] for r in rows) == ["guide.md", "paper.pdf", "report.docx"]
    assert all(" ready " in r for r in rows)
    database = Database(f"sqlite:///{data / 'causerie.db'}")
    try:
        with database.unit() as uow:
            owner = uow.users.by_email("root@example.org")
            assert owner is not None
            (work,) = uow.collections.visible(owner.id)
            assert work.name == "Work" and len(uow.collections.documents(owner.id, work.id)) == 3
        found = retrieve(database, owner.id, "pangolin", 10_000)
        assert {p.filename for p in found} == {"guide.md", "paper.pdf", "report.docx"}
        guide = next(r.split()[0] for r in rows if r.endswith("guide.md"))
        removed = causerie("docs", "rm", guide, "--data-dir", str(data))
        assert removed.returncode == 0, removed.stderr
        found = retrieve(database, owner.id, "pangolin shed", 10_000)
        assert {p.filename for p in found} == {"paper.pdf", "report.docx"}
        with database.unit() as uow:
            assert uow.documents.chunks(owner.id, guide) == []
        again = causerie("docs", "rm", guide, "--data-dir", str(data))
        assert again.returncode == 1 and again.stderr.startswith("causerie: error:")
        assert len(list((data / "uploads" / owner.id).iterdir())) == 2
    finally:
        database.close()


def test_docs_needs_an_account_and_a_known_user(tmp_path: Path) -> None:
    note = tmp_path / "a.md"
    note.write_text("hello")
    none = causerie("docs", "add", str(note), "--data-dir", str(tmp_path / "d"))
    assert none.returncode == 1 and "create-admin" in none.stderr
    wrong = causerie(
        "docs", "list", "--user", "nobody@example.org", "--data-dir", str(tmp_path / "d")
    )
    assert wrong.returncode == 1 and "nobody@example.org" in wrong.stderr
