"""Structure-aware chunking: `Block`s -> `Chunk`s of at most `max_chars` characters.

A chunk never spans two sections: a heading closes the chunk before it. Within a section
paragraphs are packed together; consecutive chunks of one section share `overlap`
characters (cut at a word boundary). Each chunk keeps its heading path and position.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from causerie.rag.blocks import Block

MAX_CHARS = 1200
OVERLAP = 150
HEADING_SEPARATOR = " › "
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


@dataclass(frozen=True, slots=True)
class Chunk:
    position: int  # 0, 1, … in reading order
    heading: str  # the heading path, e.g. "Guide › Install › Linux" ("" before any heading)
    text: str


def chunk_blocks(
    blocks: list[Block], max_chars: int = MAX_CHARS, overlap: int = OVERLAP
) -> list[Chunk]:
    """Chunks of the document, in order, each at most `max_chars` characters long."""
    if max_chars < 50 or not 0 <= overlap < max_chars // 2:
        raise ValueError("need max_chars >= 50 and 0 <= overlap < max_chars / 2")
    chunks: list[Chunk] = []
    path: list[tuple[int, str]] = []  # (level, text) of the open headings
    section: list[str] = []

    def close_section() -> None:
        heading = HEADING_SEPARATOR.join(text for _, text in path)
        for text in pack(section, max_chars, overlap):
            chunks.append(Chunk(len(chunks), heading, text))
        section.clear()

    for block in blocks:
        if block.level > 0:
            close_section()
            while path and path[-1][0] >= block.level:
                path.pop()
            path.append((block.level, block.text[:200]))
        else:
            section.append(block.text)
    close_section()
    return chunks


def pack(paragraphs: list[str], max_chars: int, overlap: int) -> list[str]:
    """Paragraphs joined into pieces of at most `max_chars`, each starting with the last
    `overlap` characters of the one before it (none for the first)."""
    pieces: list[str] = []
    current = ""
    for paragraph in paragraphs:
        for part in split_long(paragraph, max_chars - overlap - 2):
            candidate = f"{current}\n\n{part}" if current else part
            if len(candidate) <= max_chars:
                current = candidate
                continue
            pieces.append(current)
            carried = tail(current, overlap)
            current = f"{carried}\n\n{part}" if carried else part
    if current:
        pieces.append(current)
    return pieces


def split_long(text: str, limit: int) -> list[str]:
    """`text` cut into parts of at most `limit` characters: at sentence ends when it can,
    else at spaces, else anywhere."""
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for sentence in _SENTENCE_END.split(text):
        while len(sentence) > limit:
            cut = sentence.rfind(" ", 0, limit + 1)
            cut = cut if cut > limit // 2 else limit
            head, sentence = sentence[:cut].rstrip(), sentence[cut:].lstrip()
            if current:
                parts.append(current)
                current = ""
            parts.append(head)
        candidate = f"{current} {sentence}" if current else sentence
        if len(candidate) <= limit:
            current = candidate
        else:
            parts.append(current)
            current = sentence
    if current:
        parts.append(current)
    return [p for p in parts if p]


def tail(text: str, size: int) -> str:
    """About the last `size` characters of `text`, starting at a word."""
    if size <= 0 or not text:
        return ""
    if len(text) <= size:
        return text
    piece = text[-size:]
    space = piece.find(" ")
    return piece[space + 1 :] if 0 <= space < size // 2 else piece
