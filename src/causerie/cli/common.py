"""Helpers shared by CLI commands: settings from flags, one-line fatal errors."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import typer

from causerie.core.errors import CauserieError
from causerie.core.settings import Settings, load_settings

P = ParamSpec("P")
R = TypeVar("R")


def fail(message: str, code: int = 1) -> None:
    """Print one line to stderr and exit non-zero (never a traceback)."""
    typer.echo(f"causerie: error: {message}", err=True)
    raise typer.Exit(code)


def one_line_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn Causerie's errors into a one-line message and exit code 1."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except CauserieError as exc:
            typer.echo(f"causerie: error: {' '.join(exc.message.split())}", err=True)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            typer.echo("", err=True)
            sys.exit(130)

    return wrapper


def settings_from(config: Path | None, **flags: Any) -> Settings:
    return load_settings(config, **flags)
