"""Documents of one user: upload (file or pasted text), list, get, delete, re-index.

An upload is checked (size, type by extension and content, archive bombs) and stored: the
file under a server-made name in `data_dir/uploads/<user_id>/`. `queue_*` leave the row
`queued` for the background indexer; `upload`/`add_text`/`reindex` run the same
indexing (chat/indexing.py) at once, in the caller's thread (the CLI's way). Every read
and write goes through the owner: another user's document is simply not found.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from causerie.chat.indexing import index_document
from causerie.chat.uploads import MAX_FILENAME_CHARS, check_file, clean_filename, upload_folder
from causerie.core.errors import ConflictError, InvalidRequestError, NotFoundError
from causerie.engine.base import Embedder
from causerie.rag.extract import FORMATS, MIME
from causerie.store.accounts import as_utc
from causerie.store.db import Database
from causerie.store.tables import Document


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
        created_at=as_utc(d.created_at),
    )


class Documents:
    def __init__(
        self, db: Database, data_dir: Path, user_id: str, embedder: Embedder | None = None
    ) -> None:
        self.db, self.user_id, self.embedder = db, user_id, embedder
        self.data_dir = data_dir
        self.folder = upload_folder(data_dir, user_id)

    def upload(self, filename: str, data: bytes) -> DocumentView:
        """Store and index at once (the CLI): the indexer's own pipeline, run here; a file
        that cannot be read is refused as an upload would be, and nothing is kept."""
        return self._index_now(self.queue_upload(filename, data))

    def add_text(self, title: str, text: str) -> DocumentView:
        """Pasted text, read as Markdown (plain paragraphs are Markdown too), at once."""
        return self._index_now(self.queue_text(title, text))

    def queue_upload(self, filename: str, data: bytes) -> DocumentView:
        """Check and store the file; the indexer reads it later (status `queued`)."""
        filename = clean_filename(filename)
        return self._keep(filename, check_file(filename, data), data)

    def queue_text(self, title: str, text: str) -> DocumentView:
        filename, data = _text_file(title, text)
        return self._keep(filename, check_file(filename, data), data)

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
        """Read the stored file again (and embed it again), at once; a failure is kept on
        the document as its error."""
        return self._index_now(self.queue_reindex(document_id), keep_failed=True)

    def _index_now(self, view: DocumentView, *, keep_failed: bool = False) -> DocumentView:
        index_document(self.db, self.data_dir, self.embedder, view.id)
        done = self.get(view.id)
        if done.status == "error" and not keep_failed:
            self.delete(view.id)
            raise InvalidRequestError(done.error or "the document could not be indexed")
        return done

    def _keep(self, filename: str, kind: str, data: bytes) -> DocumentView:
        """Store the file and its row, `queued` for the indexer."""
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
                    status="queued",
                    chunk_count=0,
                    progress_done=0,
                    progress_total=0,
                )
                uow.commit()
                return document_view(document)
        except BaseException:
            path.unlink(missing_ok=True)
            raise

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
