"""`causerie db upgrade`: bring the database schema to the newest revision.

The database is `settings.database_url`, else the SQLite file in the data directory.
`causerie serve` applies the same migrations at startup; this command does it alone.
"""

from __future__ import annotations

import typer

from causerie.core.settings import Settings
from causerie.store.db import Database, default_url
from causerie.store.migrate import current_revision, head_revision, upgrade


def database_url(settings: Settings) -> str:
    return settings.database_url or default_url(settings.data_dir)


def run_upgrade(settings: Settings) -> None:
    database = Database(database_url(settings))
    try:
        before = current_revision(database)
        upgrade(database)
        after = current_revision(database)
    finally:
        database.close()
    where = database.engine.url.render_as_string(hide_password=True)
    if before == after:
        typer.echo(f"{where}: already at revision {after} (head {head_revision()})")
    else:
        typer.echo(f"{where}: upgraded from revision {before or '(empty)'} to {after}")
