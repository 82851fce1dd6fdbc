"""A small, strict reader for the metadata header of a GGUF file.

It reads only the key/value section (never the tensors), so listing models is instant and
a truncated or corrupt file fails with `ModelLoadError` naming the file — never a traceback.
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

from causerie.core.errors import ModelLoadError

_MAGIC = b"GGUF"
_SCALARS: dict[int, str] = {
    0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q",
    12: "<d",
}  # fmt: skip
_STRING, _ARRAY = 8, 9
_MAX_ITEMS = 1 << 28
_KEEP_ARRAYS = {"tokenizer.ggml.tokens"}


class _Cursor:
    def __init__(self, data: mmap.mmap | bytes, path: Path) -> None:
        self.data, self.pos, self.path = data, 0, path

    def unpack(self, fmt: str) -> Any:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise ModelLoadError(f"{self.path}: truncated GGUF header")
        (value,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return value

    def string(self) -> str:
        length = self.unpack("<Q")
        if length > len(self.data) - self.pos:
            raise ModelLoadError(f"{self.path}: corrupt GGUF string length")
        raw = bytes(self.data[self.pos : self.pos + length])
        self.pos += length
        return raw.decode("utf-8", errors="replace")

    def skip_string(self) -> None:
        length = self.unpack("<Q")
        if length > len(self.data) - self.pos:
            raise ModelLoadError(f"{self.path}: corrupt GGUF string length")
        self.pos += length

    def value(self, kind: int, keep: bool = True) -> Any:
        if kind in _SCALARS:
            return self.unpack(_SCALARS[kind])
        if kind == _STRING:
            return self.string()
        if kind == _ARRAY:
            item_kind, count = self.unpack("<I"), self.unpack("<Q")
            if count > _MAX_ITEMS:
                raise ModelLoadError(f"{self.path}: corrupt GGUF array length")
            if keep:
                return [self.value(item_kind) for _ in range(count)]
            skip: Callable[[], Any]
            if item_kind in _SCALARS:
                self.pos += struct.calcsize(_SCALARS[item_kind]) * count
                return None
            skip = (
                self.skip_string if item_kind == _STRING else lambda: self.value(item_kind, False)
            )
            for _ in range(count):
                skip()
            return None
        raise ModelLoadError(f"{self.path}: unknown GGUF value type {kind}")


def read_metadata(path: Path) -> dict[str, Any]:
    """Return the GGUF key/value metadata of `path`; big arrays other than the token
    list are skipped (their key maps to None)."""
    try:
        with path.open("rb") as handle:
            if handle.read(4) != _MAGIC:
                raise ModelLoadError(f"{path}: not a GGUF model file")
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
                return _parse(_Cursor(data, path))
    except FileNotFoundError as exc:
        raise ModelLoadError(f"model file not found: {path}") from exc
    except IsADirectoryError as exc:
        raise ModelLoadError(f"{path} is a directory, not a model file") from exc
    except PermissionError as exc:
        raise ModelLoadError(f"cannot read model file {path}: permission denied") from exc
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot read model file {path}: {exc}") from exc


def _parse(cursor: _Cursor) -> dict[str, Any]:
    cursor.pos = 4
    version = cursor.unpack("<I")
    if version not in (2, 3):
        raise ModelLoadError(f"{cursor.path}: unsupported GGUF version {version}")
    cursor.unpack("<Q")  # tensor count
    kv_count = cursor.unpack("<Q")
    if kv_count > 1 << 20:
        raise ModelLoadError(f"{cursor.path}: corrupt GGUF header")
    meta: dict[str, Any] = {}
    for _ in range(kv_count):
        key = cursor.string()
        kind = cursor.unpack("<I")
        keep = kind != _ARRAY or key in _KEEP_ARRAYS
        meta[key] = cursor.value(kind, keep)
    return meta
