"""An uploaded file before it is a document: its display name, where it is kept, the cheap
checks made at once (size, type by extension and content, archive bombs) and its reading
into chunks (by the indexer). No database here.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path, PurePath

from causerie.core.errors import InvalidRequestError
from causerie.rag.chunking import Chunk, chunk_blocks
from causerie.rag.extract import check_zip, detect_format, extract

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_FILENAME_CHARS = 200
_USER_ID = re.compile(r"^[0-9a-f]{32}$")


class FileTooLargeError(InvalidRequestError):
    status = 413
    code = "file_too_large"


def clean_filename(name: str) -> str:
    """The base name a user gave, without folders or control characters (for display)."""
    base = PurePath(name.replace("\\", "/")).name
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    if not base or base in (".", ".."):
        raise InvalidRequestError("a file name is required", param="filename")
    if len(base) > MAX_FILENAME_CHARS:
        stem, suffix = os.path.splitext(base)
        base = stem[: MAX_FILENAME_CHARS - len(suffix)] + suffix
    return base


def upload_folder(data_dir: Path, user_id: str) -> Path:
    if not _USER_ID.match(user_id):  # it names a folder: never anything else
        raise ValueError("unexpected user id")
    return data_dir / "uploads" / user_id


def check_file(filename: str, data: bytes) -> str:
    """The format of a file, after the cheap checks: size, type, archive bomb."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise FileTooLargeError(f"files may be at most {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
    if not data:
        raise InvalidRequestError("the file is empty", param="file")
    kind = detect_format(filename, data)
    if kind == "docx":
        check_zip(data)  # reads the zip's directory only
    return kind


def read_chunks(filename: str, data: bytes) -> tuple[str, list[Chunk]]:
    """(format, chunks) of a file; errors for a wrong type, a bomb or no text at all."""
    kind = check_file(filename, data)
    chunks = chunk_blocks(extract(kind, data))
    if not chunks:
        raise InvalidRequestError("no text could be found in this file", code="no_text")
    return kind, chunks
