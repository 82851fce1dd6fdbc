"""Text handed to llama.cpp must be UTF-8. JSON can carry what UTF-8 cannot: a lone
surrogate ("\\ud800"), which Python decodes into a `str` that will not encode. That is the
client's error, and a 400 naming the field, never a 500."""

from __future__ import annotations

from causerie.core.errors import InvalidRequestError


def utf8(text: str, param: str | None = None) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidRequestError(
            f"The text holds a lone surrogate (U+{ord(text[exc.start]):04X} at character "
            f"{exc.start}), which is not valid Unicode.",
            param=param,
        ) from exc
