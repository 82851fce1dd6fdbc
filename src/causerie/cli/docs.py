"""`causerie docs add | list | rm`: a user's documents in the local database, no server.

`add` reads each file with a progress bar, indexes it and files it in a collection when
asked; a file that cannot be read (type, size, bomb, no text) costs one line on stderr
and the others go on; the exit status is 1 when any failed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn

from causerie.chat.accounts import normalise_email
from causerie.chat.documents import Documents
from causerie.chat.knowledge import Collections
from causerie.chat.uploads import MAX_UPLOAD_BYTES, FileTooLargeError
from causerie.cli.db import database_url
from causerie.core.errors import CauserieError, InvalidRequestError, NotFoundError
from causerie.core.settings import Settings
from causerie.store.db import Database
from causerie.store.migrate import upgrade

READ_BLOCK = 1024 * 1024


@contextmanager
def _database(settings: Settings) -> Iterator[Database]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(database_url(settings))
    try:
        upgrade(db)
        yield db
    finally:
        db.close()


def _user_id(db: Database, email: str | None) -> str:
    """The account named by `email`, or the only account there is."""
    with db.unit() as uow:
        if email:
            user = uow.users.by_email(normalise_email(email))
            if user is None:
                raise NotFoundError(f"no account with the e-mail {email}")
            return user.id
        users, total = uow.users.list(limit=2)
        if total == 1:
            return users[0].id
    if total == 0:
        raise InvalidRequestError("no account yet: run `causerie users create-admin` first")
    raise InvalidRequestError("several accounts exist: say whose documents with --user EMAIL")


def _read(path: Path, progress: Progress, task: TaskID) -> bytes:
    size = path.stat().st_size
    if size > MAX_UPLOAD_BYTES:
        raise FileTooLargeError(f"files may be at most {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
    progress.update(task, description=f"reading {path.name}", total=size or 1)
    parts: list[bytes] = []
    with path.open("rb") as handle:
        while block := handle.read(READ_BLOCK):
            parts.append(block)
            progress.advance(task, len(block))
    progress.update(task, description=f"indexing {path.name}", completed=size or 1)
    return b"".join(parts)


def run_add(
    settings: Settings, paths: list[Path], collection: str | None, email: str | None
) -> None:
    failed = 0
    err = Console(stderr=True)
    with _database(settings) as db:
        user_id = _user_id(db, email)
        documents = Documents(db, settings.data_dir, user_id)
        target = Collections(db, user_id).named(collection) if collection else None
        columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn())
        with Progress(*columns, console=err, transient=False) as progress:
            for path in paths:
                task = progress.add_task(f"reading {path.name}", total=None)
                try:
                    if not path.is_file():
                        raise InvalidRequestError("not a readable file")
                    view = documents.upload(path.name, _read(path, progress, task))
                    if target is not None:
                        Collections(db, user_id).add_document(target.id, view.id)
                except (CauserieError, OSError) as exc:
                    failed += 1
                    progress.update(task, description=f"failed {path.name}")
                    message = exc.message if isinstance(exc, CauserieError) else exc.strerror
                    progress.console.print(
                        f"causerie: error: {path}: {' '.join(str(message).split())}",
                        markup=False,
                        highlight=False,
                        soft_wrap=True,
                    )
                    continue
                progress.update(task, description=f"added {path.name}")
                progress.console.print(
                    f"added {view.filename} ({view.chunk_count} chunks, id {view.id})",
                    markup=False,
                    highlight=False,
                    soft_wrap=True,
                )
    if failed:
        raise typer.Exit(1)


def run_list(settings: Settings, email: str | None) -> None:
    with _database(settings) as db:
        user_id = _user_id(db, email)
        for d in Documents(db, settings.data_dir, user_id).mine():
            typer.echo(
                f"{d.id}  {d.status:<6} {d.chunk_count:>5} chunks  {d.size:>9} B  {d.filename}"
            )


def run_rm(settings: Settings, document_ids: list[str], email: str | None) -> None:
    with _database(settings) as db:
        documents = Documents(db, settings.data_dir, _user_id(db, email))
        for document_id in document_ids:
            documents.delete(document_id)
            typer.echo(f"deleted {document_id}")
