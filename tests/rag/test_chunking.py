"""Loaders and chunking without HTTP or a database: structure, bounds, overlap, type
sniffing, HTML scripts dropped, archive bombs refused before anything is inflated."""

from __future__ import annotations

import itertools
import time

import pytest

from causerie.chat.retrieval import join_chunks
from causerie.rag.blocks import Block
from causerie.rag.chunking import HEADING_SEPARATOR, chunk_blocks
from causerie.rag.extract import (
    MAX_TEXT_CHARS,
    UnreadableFileError,
    UnsupportedFileError,
    cap,
    detect_format,
    extract,
    markdown_blocks,
)
from causerie.rag.htmltext import html_blocks
from tests.support.documents import make_docx, make_pdf, make_zip_bomb


def words(n: int, stem: str = "word") -> str:
    return " ".join(f"{stem}{i}." if i % 12 == 11 else f"{stem}{i}" for i in range(n))


def test_chunks_follow_headings_and_keep_their_path() -> None:
    blocks = markdown_blocks(
        "Intro line.\n\n# Guide\n\nAbout the guide.\n\n## Install\n\nRun it.\n\n"
        "```\n# not a heading\n```\n\n## Use\n\nType things.\n\n# Other\n\nLast."
    )
    chunks = chunk_blocks(blocks)
    assert [(c.heading, c.text.split("\n")[0]) for c in chunks] == [
        ("", "Intro line."),
        ("Guide", "About the guide."),
        (f"Guide{HEADING_SEPARATOR}Install", "Run it."),
        (f"Guide{HEADING_SEPARATOR}Use", "Type things."),
        ("Other", "Last."),
    ]
    assert "# not a heading" in chunks[2].text
    assert [c.position for c in chunks] == list(range(len(chunks)))


def test_chunks_are_bounded_and_overlap_within_a_section() -> None:
    blocks = [Block("Big", 1)] + [Block(words(80, f"p{n}w")) for n in range(12)]
    blocks.append(Block(words(900, "long")))  # one paragraph far beyond the bound
    chunks = chunk_blocks(blocks, max_chars=600, overlap=100)
    assert len(chunks) > 5
    assert all(len(c.text) <= 600 for c in chunks)
    for before, after in itertools.pairwise(chunks):
        assert after.text.split()[0] in before.text  # the next one starts with an overlap
    everything = " ".join(c.text for c in chunks)
    for n in range(12):
        assert f"p{n}w79" in everything
    assert "long899" in everything
    assert "long0 " in join_chunks([(c.heading, c.text) for c in chunks])


def test_whole_document_is_rebuilt_without_overlaps() -> None:
    paragraphs = [words(40, f"s{n}x") for n in range(10)]
    chunks = chunk_blocks([Block(p) for p in paragraphs], max_chars=700, overlap=120)
    assert len(chunks) > 2
    assert join_chunks([(c.heading, c.text) for c in chunks]) == "\n\n".join(paragraphs)


def test_html_headings_paragraphs_and_no_scripts() -> None:
    blocks = html_blocks(
        "<html><head><title>T</title><style>p{color:red}</style></head><body>"
        "<h1>Main</h1><p>First &amp; foremost.</p><script>alert('canary-js')</script>"
        "<h3>Deep</h3><div>Inner <b>bold</b> text<br>next line</div></body></html>"
    )
    assert blocks == [
        Block("Main", 1),
        Block("First & foremost."),
        Block("Deep", 3),
        Block("Inner bold text"),
        Block("next line"),
    ]


def test_docx_heading_styles_and_pdf_pages() -> None:
    docx = make_docx([(1, "Report"), (0, "Summary text."), (2, "Details"), (0, "More.")])
    assert extract(detect_format("r.docx", docx), docx) == [
        Block("Report", 1),
        Block("Summary text."),
        Block("Details", 2),
        Block("More."),
    ]
    pdf = make_pdf(["First page words", "Second page words"])
    chunks = chunk_blocks(extract(detect_format("r.pdf", pdf), pdf))
    assert [(c.heading, c.text) for c in chunks] == [
        ("Page 1", "First page words"),
        ("Page 2", "Second page words"),
    ]


@pytest.mark.parametrize(
    ("filename", "data"),
    [
        ("notes.exe", b"hello"),
        ("fake.pdf", b"just text pretending"),
        ("fake.docx", b"%PDF-1.4 not a zip"),
        ("fake.txt", b"%PDF-1.4\n..."),
        ("binary.md", b"abc\x00\x01\x02"),
        ("archive.txt", b"PK\x03\x04zipped"),
    ],
)
def test_wrong_types_and_fake_extensions_are_refused(filename: str, data: bytes) -> None:
    with pytest.raises(UnsupportedFileError):
        detect_format(filename, data)


def test_text_must_be_utf8_and_is_capped() -> None:
    with pytest.raises(UnreadableFileError):
        extract("text", "caf\u00e9".encode("latin-1"))
    huge = ("x" * 99 + "\n\n").encode() * (MAX_TEXT_CHARS // 50)
    assert sum(len(b.text) for b in extract("text", huge)) <= MAX_TEXT_CHARS


@pytest.mark.parametrize("declared", [None, 4 * 1024**3])
def test_zip_bombs_are_refused_before_expansion(declared: int | None) -> None:
    bomb = make_zip_bomb(inflated=32 * 1024 * 1024 if declared is None else 1000, declared=declared)
    assert len(bomb) < 100_000
    started = time.monotonic()
    with pytest.raises(UnsupportedFileError) as info:
        extract(detect_format("bomb.docx", bomb), bomb)
    assert info.value.code == "archive_bomb"
    assert time.monotonic() - started < 0.5


def test_a_zip_that_is_not_a_docx_is_refused() -> None:
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(UnsupportedFileError):
        extract("docx", out.getvalue())


def test_html_without_closing_head_keeps_its_body() -> None:
    blocks = html_blocks("<html><head><title>Hidden title</title><p>Body text survives")
    assert blocks == [Block("Body text survives")]


def test_a_broken_pdf_is_a_clear_error() -> None:
    broken = make_pdf(["fine"])[:60]
    with pytest.raises(UnreadableFileError):
        extract(detect_format("broken.pdf", broken), broken)


def test_extracted_text_drops_nul_characters() -> None:
    blocks = cap([Block("a\x00b", 1), Block("\x00")])
    assert [(b.text, b.level) for b in blocks] == [("ab", 1)]
