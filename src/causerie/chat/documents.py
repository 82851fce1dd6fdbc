"""Documents of one user: upload (file or pasted text), list, get, delete, re-index.

An upload is checked (size, type by extension and content, archive bombs) and stored: the
file under a server-made name in `data_dir/uploads/<user_id>/`. `queue_*` leave the row
`queued` for the background indexer (chat/indexing.py); `upload`/`add_text`/`reindex`
read it into chunks (and vectors) at once, in one transaction (the CLI's way). Every read
and write goes through the owner: another user's document is simply not found.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePath

from causerie.chat.vectors import Vectors, embed_chunks, store_vectors
from causerie.core.errors import ConflictError, InvalidRequestError, NotFoundError
from causerie.engine.base import Embedder
from causerie.rag.chunking import Chunk, chunk_blocks
from causerie.rag.extract import FORMATS, MIME, check_zip, detect_format, extract
from causerie.store.db import Database
from causerie.store.tables import Document
from causerie.store.unit import Unit

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_FILENAME_CHARS = 200
_USER_ID = re.compile(r"^[0-9a-f]{32}$")


class FileTooLargeError(InvalidRequestError):
    status = 413
    code = "file_too_large"


@dataclass(frozen=True, slots=True)
class DocumentView:
    id: str
    filename: str
    mime: str
    size: int
    sha256: str
    status: str  # queued | indexing | ready | error
    error: str | None
    chunk_count: int
    created_at: datetime
    progress_done: int  # chunks stored (and embedded) so far, of progress_total
    progress_total: int  # 0 until the file has been read


def document_view(d: Document) -> DocumentView:
    return DocumentView(
        id=d.id,
        filename=d.filename,
        mime=d.mime,
        size=d.size,
        sha256=d.sha256,
        status=d.status,
        error=d.error,
        chunk_count=d.chunk_count,
        progress_done=d.progress_done,
        progress_total=d.progress_total,
        created_at=d.created_at.replace(tzinfo=UTC)
        if d.created_at.tzinfo is None
        else d.created_at,
    )


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


class Documents:
    def __init__(
        self, db: Database, data_dir: Path, user_id: str, embedder: Embedder | None = None
    ) -> None:
        self.db, self.user_id, self.embedder = db, user_id, embedder
        self.folder = upload_folder(data_dir, user_id)

    def upload(self, filename: str, data: bytes) -> DocumentView:
        filename = clean_filename(filename)
        kind, chunks = read_chunks(filename, data)
        return self._keep(filename, kind, data, chunks)

    def add_text(self, title: str, text: str) -> DocumentView:
        """Pasted text, read as Markdown (plain paragraphs are Markdown too)."""
        filename, data = _text_file(title, text)
        kind, chunks = read_chunks(filename, data)
        return self._keep(filename, kind, data, chunks)

    def queue_upload(self, filename: str, data: bytes) -> DocumentView:
        """Check and store the file; the indexer reads it later (status `queued`)."""
        filename = clean_filename(filename)
        return self._keep(filename, check_file(filename, data), data, None)

    def queue_text(self, title: str, text: str) -> DocumentView:
        filename, data = _text_file(title, text)
        return self._keep(filename, check_file(filename, data), data, None)

    def queue_reindex(self, document_id: str) -> DocumentView:
        """Queue the document to be read again; its chunks are replaced when it is."""
        with self.db.unit() as uow:
            document = self._own(uow.documents.get(self.user_id, document_id))
            if document.status in ("queued", "indexing"):
                raise ConflictError("this document is already being indexed")
            document.status, document.error = "queued", None
            document.progress_done = document.progress_total = 0
            uow.commit()
            return document_view(document)

    def mine(self) -> list[DocumentView]:
        with self.db.unit() as uow:
            return [document_view(d) for d in uow.documents.owned(self.user_id)]

    def get(self, document_id: str) -> DocumentView:
        with self.db.unit() as uow:
            return document_view(self._own(uow.documents.get(self.user_id, document_id)))

    def delete(self, document_id: str) -> None:
        with self.db.unit() as uow:
            document = self._own(uow.documents.get(self.user_id, document_id))
            stored = self.folder / document.stored_name
            uow.documents.delete(document)
            uow.commit()
        stored.unlink(missing_ok=True)

    def reindex(self, document_id: str) -> DocumentView:
        """Read the stored file again (and embed it again); a failure is kept on the
        document as its error. The slow part runs before the transaction."""
        with self.db.unit() as uow:
            document = self._own(uow.documents.get(self.user_id, document_id))
            stored_name, filename = document.stored_name, document.filename
        chunks: list[Chunk] = []
        vectors: Vectors | None = None
        error: str | None = None
        try:
            data = (self.folder / stored_name).read_bytes()
            _, chunks = read_chunks(filename, data)
            vectors = self._embed(chunks)
        except InvalidRequestError as exc:
            error = exc.message
        except OSError as exc:
            error = str(exc)
        with self.db.unit() as uow:
            document = self._own(uow.documents.get(self.user_id, document_id))
            if document.status in ("queued", "indexing"):
                raise ConflictError("this document is already being indexed")
            count = uow.documents.replace_chunks(document, chunks if error is None else [])
            document.status, document.error = ("ready", None) if error is None else ("error", error)
            document.progress_done = document.progress_total = count
            if error is None:
                self._attach(uow, document.id, vectors)
            uow.commit()
            return document_view(document)

    def _keep(
        self, filename: str, kind: str, data: bytes, chunks: list[Chunk] | None
    ) -> DocumentView:
        """Store the file and its row: with `chunks`, ready; without, queued."""
        vectors = self._embed(chunks) if chunks is not None else None
        suffix = next(ext for ext, k in FORMATS.items() if k == kind)
        stored_name = secrets.token_hex(16) + suffix
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / stored_name
        partial = path.with_suffix(".part")
        partial.write_bytes(data)
        partial.replace(path)
        try:
            with self.db.unit() as uow:
                document = uow.documents.create(
                    self.user_id,
                    filename=filename,
                    mime=MIME[kind],
                    size=len(data),
                    sha256=hashlib.sha256(data).hexdigest(),
                    stored_name=stored_name,
                    status="ready" if chunks is not None else "queued",
                    chunk_count=0,
                    progress_done=len(chunks or ()),
                    progress_total=len(chunks or ()),
                )
                if chunks is not None:
                    uow.documents.replace_chunks(document, chunks)
                    self._attach(uow, document.id, vectors)
                uow.commit()
                return document_view(document)
        except BaseException:
            path.unlink(missing_ok=True)
            raise

    def _embed(self, chunks: list[Chunk]) -> Vectors | None:
        return embed_chunks(self.embedder, chunks) if self.embedder is not None else None

    def _attach(self, uow: Unit, document_id: str, vectors: Vectors | None) -> None:
        if self.embedder is not None and vectors is not None:
            store_vectors(uow, self.embedder.info.id, self.user_id, document_id, vectors)

    @staticmethod
    def _own(document: Document | None) -> Document:
        if document is None:
            raise NotFoundError("document not found", param="document_id")
        return document


def _text_file(title: str, text: str) -> tuple[str, bytes]:
    """(file name, bytes) of pasted text: a Markdown file named after its title."""
    title = " ".join(title.split())[:MAX_FILENAME_CHARS] or "Pasted text"
    filename = clean_filename(title if title.lower().endswith(".md") else title + ".md")
    return filename, text.encode("utf-8")
