"""`causerie users create-admin`: make an administrator without the browser (headless setup).

The password comes from a hidden prompt (asked twice) or from stdin with
`--password-stdin`, never from the command line where `ps` and shell history would keep it.
"""

from __future__ import annotations

import sys

import typer

from causerie.chat.accounts import AccountService
from causerie.core.errors import InvalidRequestError
from causerie.core.settings import Settings
from causerie.store.db import Database, default_url
from causerie.store.migrate import upgrade


def read_password(from_stdin: bool) -> str:
    """The new password: the first line of stdin, or a hidden prompt asked twice."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))
    if not password:
        raise InvalidRequestError("an empty password was given")
    return password


def run_create_admin(settings: Settings, email: str, password: str, name: str = "") -> None:
    """Create an administrator account in the configured database (migrated first)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.database_url or default_url(settings.data_dir))
    try:
        upgrade(db)
        user = AccountService(db).create_user(email, password, name=name, role="admin")
    finally:
        db.close()
    typer.echo(f"Created administrator {user.email} (id {user.id}).")
