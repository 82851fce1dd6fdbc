"""The decode thread's mailbox to an asyncio loop: order, draining on close, and no bell
once closed (its pipe's file descriptor numbers may belong to someone else by then)."""

from __future__ import annotations

import asyncio
import os
import threading

import pytest

from causerie.engine.llamacpp.mailbox import Mailbox


async def _receive(queue: asyncio.Queue[int], count: int) -> list[int]:
    return [await asyncio.wait_for(queue.get(), 5) for _ in range(count)]


def test_events_posted_from_another_thread_arrive_in_order() -> None:
    async def main() -> tuple[list[int], list[int]]:
        box = Mailbox(asyncio.get_running_loop())
        odd: asyncio.Queue[int] = asyncio.Queue()
        even: asyncio.Queue[int] = asyncio.Queue()

        def decode_thread() -> None:
            for start in range(0, 600, 3):
                box.post([((even if n % 2 == 0 else odd), n) for n in range(start, start + 3)])

        thread = threading.Thread(target=decode_thread)
        thread.start()
        got = await asyncio.gather(_receive(even, 300), _receive(odd, 300))
        thread.join()
        box.close()
        return got[0], got[1]

    even, odd = asyncio.run(main())
    assert even == list(range(0, 600, 2))
    assert odd == list(range(1, 600, 2))


def test_close_delivers_what_is_left_and_later_posts_are_dropped() -> None:
    async def main() -> list[int]:
        loop = asyncio.get_running_loop()
        box = Mailbox(loop)
        queue: asyncio.Queue[int] = asyncio.Queue()
        box.post([(queue, 1), (queue, 2)])  # rung, but the loop has not run the reader yet
        box.close()
        got = [queue.get_nowait() for _ in range(queue.qsize())]
        box.post([(queue, 3)])  # after close: ignored, and no write to a closed fd
        box.close()  # twice is harmless
        await asyncio.sleep(0)
        return got + [queue.get_nowait() for _ in range(queue.qsize())]

    assert asyncio.run(main()) == [1, 2]


def test_a_closed_loop_gets_nothing_and_its_pipe_is_released() -> None:
    loop = asyncio.new_event_loop()
    box = Mailbox(loop)
    fds = (box._read, box._write)
    loop.close()
    queue: asyncio.Queue[int] = asyncio.Queue()
    box.post([(queue, 1)])
    assert queue.empty()
    box.close()
    for fd in fds:
        with pytest.raises(OSError):
            os.fstat(fd)


def test_loops_without_add_reader_are_woken_with_call_soon_threadsafe(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def unsupported(*args: object) -> None:
        raise NotImplementedError

    async def main() -> list[int]:
        loop = asyncio.get_running_loop()
        monkeypatch.setattr(loop, "add_reader", unsupported)
        box = Mailbox(loop)
        queue: asyncio.Queue[int] = asyncio.Queue()
        thread = threading.Thread(target=box.post, args=([(queue, 7), (queue, 8)],))
        thread.start()
        got = await _receive(queue, 2)
        thread.join()
        box.close()
        return got

    assert asyncio.run(main()) == [7, 8]
