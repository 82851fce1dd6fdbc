"""How the decode thread hands events to an asyncio loop without stalling the next step.

`loop.call_soon_threadsafe` wakes the loop with a socket send, and a send releases the GIL:
the loop thread, woken at that instant, often takes the GIL and handles the tokens (SSE
frames, socket writes) while the decode thread waits to start its next `llama_decode`. A
`Mailbox` rings the loop's bell with a `write` that keeps the GIL, and the scheduler rings
just before `llama_decode`, which releases it: the loop handles the events while llama.cpp
computes the next step, instead of in front of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

Delivery = tuple["asyncio.Queue[Any]", Any]


def _bell() -> Callable[[int], object]:
    """A one-byte write to a non-blocking pipe that does not release the GIL (ctypes'
    PyDLL keeps it), with a plain `os.write` where libc cannot be loaded that way."""
    try:
        write = ctypes.PyDLL(None).write
        write.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t]
        write.restype = ctypes.c_ssize_t
    except (OSError, AttributeError):  # pragma: no cover - platforms without dlopen(NULL)

        def plain(fd: int) -> object:
            with contextlib.suppress(BlockingIOError):
                os.write(fd, b"\0")
            return None

        return plain
    return lambda fd: write(fd, b"\0", 1)  # a full pipe (EAGAIN) already means "wake up"


_ring = _bell()


class Mailbox:
    """Events for the queues of one event loop. `post` is called by the decode thread;
    everything else runs on the loop's own thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._items: deque[Delivery] = deque()
        self._lock = threading.Lock()  # no bell after close: its fd number may be reused
        self._open = True
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)
        try:
            loop.add_reader(self._read, self._drain)
            self._piped = True
        except NotImplementedError:  # e.g. the proactor loop on Windows
            self._piped = False

    def post(self, items: Iterable[Delivery]) -> None:
        with self._lock:
            if not self._open or self.loop.is_closed():
                return
            self._items.extend(items)
            if self._piped:
                _ring(self._write)
            else:
                self.loop.call_soon_threadsafe(self._drain)

    def _drain(self) -> None:
        if self._piped:
            with contextlib.suppress(BlockingIOError, OSError):
                os.read(self._read, 65536)
        while self._items:
            queue, event = self._items.popleft()
            queue.put_nowait(event)

    def close(self) -> None:
        """Deliver what is left, then release the pipe (on the loop's thread, or once the
        loop is closed)."""
        with self._lock:
            if not self._open:
                return
            self._open = False
        if not self.loop.is_closed():
            self._drain()
            if self._piped:
                self.loop.remove_reader(self._read)
        for fd in (self._read, self._write):
            os.close(fd)
