"""What a chat tool is: a name, an i18n title key, a description and JSON-Schema parameters
shown to the model, and an async `run(args, context) -> str`. A tool reports bad input by
raising `ToolInputError`; the registry turns it (and any failure) into a result text.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from causerie.engine.base import Embedder
from causerie.store.db import Database

RESULT_CHARS = 4000  # a tool result is clipped to this many characters


class ToolInputError(Exception):
    """The arguments cannot be used; the message says why (the model reads it)."""


@dataclass(frozen=True, slots=True)
class ToolContext:
    """What a tool may use: the database, the user it acts for, their time zone."""

    db: Database
    user_id: str
    timezone: str = "UTC"
    embedder: Embedder | None = None  # dense retrieval for the documents tool, when configured


RunTool = Callable[[dict[str, Any], ToolContext], Awaitable[str]]


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    title: str  # i18n key of the name shown in the UI
    description: str
    parameters: dict[str, Any]
    run: RunTool = field(repr=False)


def text_arg(args: dict[str, Any], name: str, *, required: bool = True, most: int = 10_000) -> str:
    """A string argument, checked: present when required, a string, not too long."""
    value = args.get(name)
    if value is None:
        if required:
            raise ToolInputError(f"the argument '{name}' is missing")
        return ""
    if not isinstance(value, str):
        raise ToolInputError(f"the argument '{name}' must be a string")
    if len(value) > most:
        raise ToolInputError(f"the argument '{name}' is longer than {most} characters")
    return value


def clip(text: str, limit: int = RESULT_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + "\n[truncated]"
