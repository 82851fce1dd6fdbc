"""Turn a stream of token bytes into text, holding back what could still become a stop string.

Bytes are decoded incrementally (a multi-byte character split across tokens is never
emitted half-done). Stop strings are matched on the text, across token boundaries, and
neither the stop string nor anything after it is ever emitted.
"""

from __future__ import annotations

import codecs


class StopMatcher:
    """Feed token bytes; get back the text that is safe to emit now."""

    def __init__(self, stops: tuple[str, ...] = ()) -> None:
        self.stops = tuple(s for s in stops if s)
        self._hold = max((len(s) for s in self.stops), default=1) - 1
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""
        self.stopped = False

    def feed(self, piece: bytes) -> str:
        """Add a token's bytes; return text that can be emitted. Sets `stopped` on a match."""
        if self.stopped:
            return ""
        self._pending += self._decoder.decode(piece)
        if not self.stops:
            text, self._pending = self._pending, ""
            return text
        cut = self._first_stop()
        if cut is not None:
            self.stopped = True
            text, self._pending = self._pending[:cut], ""
            return text
        keep = self._partial_suffix()
        text = self._pending[: len(self._pending) - keep]
        self._pending = self._pending[len(self._pending) - keep :]
        return text

    def flush(self) -> str:
        """The end of the stream: whatever is held back is text after all."""
        if self.stopped:
            return ""
        text = self._pending + self._decoder.decode(b"", final=True)
        self._pending = ""
        return text

    def _first_stop(self) -> int | None:
        found = [i for i in (self._pending.find(s) for s in self.stops) if i >= 0]
        return min(found) if found else None

    def _partial_suffix(self) -> int:
        """Length of the longest end of the pending text that begins some stop string."""
        pending = self._pending
        for size in range(min(self._hold, len(pending)), 0, -1):
            tail = pending[-size:]
            if any(stop.startswith(tail) for stop in self.stops):
                return size
        return 0
