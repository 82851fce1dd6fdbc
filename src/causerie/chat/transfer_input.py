"""Checks of an import file's raw values (untrusted input), before anything is written.

Every string must be storable on both backends (valid Unicode, no NUL character) and every
time a real one; anything else is refused with a 400 that says what and where.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from causerie.core.errors import InvalidRequestError


def _path(parent: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key[:40]}" if parent else key[:40]


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "contains a NUL character (\\u0000)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode text (it holds an unpaired surrogate such as \\ud800)"
    return None


def check_text(data: Any) -> None:
    """Refuse the file if any key or string in it could not be stored. Iterative: the
    file may be as deep as the JSON parser allowed."""
    pending: list[tuple[Any, str]] = [(data, "")]
    while pending:
        value, where = pending.pop()
        if isinstance(value, str):
            problem = _text_problem(value)
            if problem:
                where = where or "it"
                raise InvalidRequestError(f"The file cannot be imported: {where} {problem}.")
        elif isinstance(value, dict):
            for key, item in value.items():
                problem = _text_problem(key)
                if problem:
                    raise InvalidRequestError(
                        f"The file cannot be imported: a key in {where or 'it'} {problem}."
                    )
                pending.append((item, _path(where, key)))
        elif isinstance(value, list):
            pending += [(item, _path(where, i)) for i, item in enumerate(value)]


def import_time(value: Any, where: str) -> datetime:
    """A time of the file as aware UTC: a Unix timestamp, an ISO 8601 string, or now when
    absent (`null`). Anything else, or a time out of range, is a 400 naming `where`."""
    if value is None or value == "":
        return datetime.now(UTC)
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(float(value), UTC)
        if isinstance(value, str):
            parsed = datetime.fromisoformat(value)
            return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except (OverflowError, OSError, ValueError):
        pass
    shown = repr(value)[:60]
    raise InvalidRequestError(
        f"The file cannot be imported: {where} must be a Unix timestamp or an ISO 8601 time "
        f"between the years 1 and 9999, not {shown}."
    )
