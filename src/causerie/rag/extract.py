"""Document loaders: bytes of a PDF, DOCX, Markdown, plain-text or HTML file -> `Block`s.

The format comes from the extension AND the content (a `.pdf` must start with `%PDF-`, a
`.docx` must be a zip holding word/document.xml, text must be UTF-8 without NUL bytes).
A DOCX is refused before it is expanded when its zip declares too much or inflates too
well (an archive bomb). Extracted text is capped at `MAX_TEXT_CHARS`.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import PurePath

from causerie.core.errors import InvalidRequestError
from causerie.rag.blocks import Block
from causerie.rag.htmltext import html_blocks

MAX_TEXT_CHARS = 2_000_000
MAX_UNZIPPED_BYTES = 64 * 1024 * 1024
MAX_ZIP_ENTRIES = 2000
MAX_ZIP_RATIO = 100  # uncompressed / compressed, for any member over 1 MiB

FORMATS = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
    ".html": "html",
    ".htm": "html",
}
MIME = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "markdown": "text/markdown",
    "text": "text/plain",
    "html": "text/html",
}
_ATX = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_DOCX_HEADING = re.compile(r"^heading (\d)$", re.IGNORECASE)


class UnsupportedFileError(InvalidRequestError):
    code = "unsupported_file_type"


class UnreadableFileError(InvalidRequestError):
    code = "unreadable_file"


def detect_format(filename: str, data: bytes) -> str:
    """The format of an upload, when its extension and its first bytes agree."""
    kind = FORMATS.get(PurePath(filename).suffix.lower())
    if kind is None:
        allowed = ", ".join(sorted(FORMATS))
        raise UnsupportedFileError(f"unsupported file type (allowed: {allowed})", param="filename")
    head = data[:8192]
    if kind == "pdf":
        ok = head.startswith(b"%PDF-")
    elif kind == "docx":
        ok = head.startswith(b"PK\x03\x04")
    else:
        ok = b"\x00" not in head and not head.startswith((b"%PDF-", b"PK\x03\x04"))
    if not ok:
        raise UnsupportedFileError(f"the content of '{filename}' is not a {kind} file")
    return kind


def extract(kind: str, data: bytes) -> list[Block]:
    """The blocks of a document of format `kind` (see `detect_format`)."""
    if kind == "pdf":
        blocks = _pdf_blocks(data)
    elif kind == "docx":
        blocks = _docx_blocks(data)
    else:
        text = decode_text(data)
        if kind == "markdown":
            blocks = markdown_blocks(text)
        elif kind == "html":
            blocks = html_blocks(text)
        else:
            blocks = [Block(p) for p in paragraphs(text)]
    return cap(blocks)


def decode_text(data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFileError("text files must be encoded in UTF-8") from exc
    return text[: MAX_TEXT_CHARS * 2]


def paragraphs(text: str) -> list[str]:
    """Paragraphs separated by blank lines, inner whitespace collapsed."""
    out = (" ".join(part.split()) for part in re.split(r"\n\s*\n", text))
    return [p for p in out if p]


def cap(blocks: list[Block]) -> list[Block]:
    """At most `MAX_TEXT_CHARS` characters of text in all, without NUL characters (which
    carry no text and which PostgreSQL cannot store)."""
    out: list[Block] = []
    left = MAX_TEXT_CHARS
    for block in blocks:
        if left <= 0:
            break
        if "\x00" in block.text:
            block = Block(block.text.replace("\x00", ""), block.level)
            if not block.text:
                continue
        out.append(block if len(block.text) <= left else Block(block.text[:left], block.level))
        left -= len(block.text)
    return out


def markdown_blocks(text: str) -> list[Block]:
    """ATX headings (`#`…`######`) and paragraphs; `#` lines inside code fences are text."""
    blocks: list[Block] = []
    lines: list[str] = []
    fenced = False

    def flush() -> None:
        blocks.extend(Block(p) for p in paragraphs("\n".join(lines)))
        lines.clear()

    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        heading = None if fenced else _ATX.match(line)
        if heading and heading.group(2):
            flush()
            blocks.append(Block(heading.group(2), len(heading.group(1))))
        else:
            lines.append(line)
    flush()
    return blocks


def check_zip(data: bytes) -> zipfile.ZipFile:
    """Open a zip after checking its declared sizes and ratios; nothing is inflated here."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise UnreadableFileError("this DOCX file is not a valid zip archive") from exc
    infos = archive.infolist()
    total = sum(info.file_size for info in infos)
    inflating = any(
        info.file_size > 1024 * 1024 and info.file_size > MAX_ZIP_RATIO * max(1, info.compress_size)
        for info in infos
    )
    if len(infos) > MAX_ZIP_ENTRIES or total > MAX_UNZIPPED_BYTES or inflating:
        raise UnsupportedFileError(
            "this DOCX file expands too much to be read", code="archive_bomb"
        )
    if "word/document.xml" not in archive.namelist():
        raise UnsupportedFileError("this zip file is not a DOCX document")
    return archive


def _docx_blocks(data: bytes) -> list[Block]:
    check_zip(data)
    import docx  # lazily: python-docx pulls in lxml

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises many kinds on a broken package
        raise UnreadableFileError("this DOCX file cannot be read") from exc
    blocks: list[Block] = []
    for para in document.paragraphs:
        text = " ".join(para.text.split())
        if not text:
            continue
        style = para.style.name if para.style is not None and para.style.name else ""
        match = _DOCX_HEADING.match(style)
        level = int(match.group(1)) if match else (1 if style.lower() == "title" else 0)
        blocks.append(Block(text, min(level, 6)))
    for table in document.tables:
        for row in table.rows:
            text = " | ".join(" ".join(cell.text.split()) for cell in row.cells)
            if text.strip(" |"):
                blocks.append(Block(text))
    return blocks


def _pdf_blocks(data: bytes) -> list[Block]:
    """One level-1 heading per page ("Page N"), then the page's paragraphs."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise UnreadableFileError("encrypted PDF files are not supported")
        blocks: list[Block] = []
        size = 0
        for number, page in enumerate(reader.pages, start=1):
            found = [Block(p) for p in paragraphs(page.extract_text() or "")]
            if found:
                blocks.append(Block(f"Page {number}", 1))
                blocks.extend(found)
                size += sum(len(b.text) for b in found)
            if size > MAX_TEXT_CHARS:
                break
    except UnreadableFileError:
        raise
    except Exception as exc:  # pypdf raises many kinds on a malformed file
        raise UnreadableFileError("this PDF file cannot be read") from exc
    return blocks
