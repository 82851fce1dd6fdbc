"""A message's `meta` in a Causerie export: what it may hold on import (untrusted input).

Only the known keys (tool calls, a tool result's call id, name and arguments, sources,
citations, how an answer ended: cut at its length limit, or an error's code), each with
its JSON type and a bound on its size; anything else is refused with a 400 that names
the key, before anything is written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from causerie.core.errors import InvalidRequestError

MAX_ID = 200
MAX_NAME = 200
MAX_ARGUMENTS = 100_000
MAX_CALLS = 32
MAX_SOURCES = 100
MAX_TEXT = 20_000  # an excerpt, a file name or heading is far shorter
MAX_CITATIONS = 1_000
MAX_SPANS = 1_000
MAX_NUMBER = 1_000_000_000
CALL_KEYS = {"id", "name", "arguments"}
SOURCE_KEYS = {"n", "document_id", "filename", "heading", "position", "excerpt"}
CITATION_KEYS = {"n", "by", "spans"}


def clean_meta(raw: Any) -> dict[str, Any]:
    """`raw` checked key by key; {} when absent. Raises InvalidRequestError."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        _bad("meta", "an object")
    out: dict[str, Any] = {}
    for key, value in raw.items():
        check = CHECKS.get(key)
        if check is None:
            raise InvalidRequestError(f"meta: unknown key {str(key)[:40]!r}", param="meta")
        out[key] = check(f"meta.{key}", value)
    return out


def _bad(where: str, expected: str) -> Any:
    raise InvalidRequestError(f"{where} must be {expected}", param="meta")


def _text(limit: int, optional: bool = False) -> Callable[[str, Any], Any]:
    def check(where: str, value: Any) -> Any:
        if value is None and optional:
            return None
        if not isinstance(value, str) or len(value) > limit:
            _bad(where, f"a string of at most {limit} characters")
        return value

    return check


def _one_of(*values: str) -> Callable[[str, Any], Any]:
    def check(where: str, value: Any) -> Any:
        if value not in values:
            _bad(where, " or ".join(repr(v) for v in values))
        return value

    return check


def _count(where: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_NUMBER:
        _bad(where, "a whole number")
    return int(value)


def _records(
    keys: set[str], required: set[str], limit: int, fields: dict[str, Callable[[str, Any], Any]]
) -> Callable[[str, Any], list[dict[str, Any]]]:
    def check(where: str, value: Any) -> list[dict[str, Any]]:
        if not isinstance(value, list) or len(value) > limit:
            _bad(where, f"a list of at most {limit} items")
        out = []
        for i, item in enumerate(value):
            at = f"{where}[{i}]"
            if not isinstance(item, dict) or not required <= set(item) <= keys:
                _bad(at, f"an object with keys among {sorted(keys)}")
            out.append({k: fields[k](f"{at}.{k}", v) for k, v in item.items()})
        return out

    return check


def _by(where: str, value: Any) -> str:
    if value not in ("model", "overlap"):
        _bad(where, '"model" or "overlap"')
    return str(value)


def _spans(where: str, value: Any) -> list[list[int]]:
    if not isinstance(value, list) or len(value) > MAX_SPANS:
        _bad(where, f"a list of at most {MAX_SPANS} [start, end] pairs")
    out = []
    for span in value:
        if not isinstance(span, list) or len(span) != 2:
            _bad(where, "a list of [start, end] pairs")
        start, end = _count(where, span[0]), _count(where, span[1])
        if start > end:
            _bad(where, "a list of [start, end] pairs with start <= end")
        out.append([start, end])
    return out


CHECKS: dict[str, Callable[[str, Any], Any]] = {
    "tool_calls": _records(CALL_KEYS, CALL_KEYS, MAX_CALLS, {
        "id": _text(MAX_ID), "name": _text(MAX_NAME), "arguments": _text(MAX_ARGUMENTS)}),
    "tool_call_id": _text(MAX_ID),
    "name": _text(MAX_NAME),
    "arguments": _text(MAX_ARGUMENTS),
    "sources": _records(SOURCE_KEYS, {"n"}, MAX_SOURCES, {
        "n": _count, "document_id": _text(MAX_ID, optional=True),
        "filename": _text(MAX_TEXT), "heading": _text(MAX_TEXT, optional=True),
        "position": _count, "excerpt": _text(MAX_TEXT)}),
    "citations": _records(CITATION_KEYS, CITATION_KEYS, MAX_CITATIONS, {
        "n": _count, "by": _by, "spans": _spans}),
    "finish_reason": _one_of("length"),
    "error_code": _text(MAX_NAME),
}  # fmt: skip
