"""Engine behaviour seen through HTTP on a one-slot server: a client that disconnects
(streaming or not) frees the slot for the next request, and a full queue answers 503
with Retry-After."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import Server, start_server, stop_server

KEY = "k-engine"
LONG = {
    "model": "smollm2-135m",
    "messages": [{"role": "user", "content": "Write a very long story."}],
    "max_tokens": 900,
    "ignore_eos": True,
}
SHORT = {"model": "smollm2-135m", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4}


@pytest.fixture(scope="module")
def one_slot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(
        tmp_path_factory.mktemp("one-slot"), "--ctx-size", "1024", "--parallel", "1",
        api_key=KEY, env={"CAUSERIE_QUEUE_SIZE": "1"},
    )  # fmt: skip
    yield srv
    stop_server(srv)


def headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {KEY}"}


def wait_idle(server: Server, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        health = httpx.get(server.url + "/health").json()
        if health["running"] == 0 and health["queued"] == 0:
            return
        time.sleep(0.05)
    raise AssertionError("the server did not become idle")


def short_request_seconds(server: Server) -> float:
    started = time.monotonic()
    r = httpx.post(server.v1 + "/chat/completions", json=SHORT, headers=headers(), timeout=60)
    assert r.status_code == 200
    return time.monotonic() - started


def test_streaming_disconnect_frees_the_slot(one_slot: Server) -> None:
    with httpx.stream(
        "POST", one_slot.v1 + "/chat/completions", json={**LONG, "stream": True},
        headers=headers(), timeout=60,
    ) as r:  # fmt: skip
        lines = r.iter_lines()
        for _ in range(6):
            next(lines)
    wait_idle(one_slot, timeout=5)
    assert short_request_seconds(one_slot) < 5


def test_non_streaming_disconnect_frees_the_slot(one_slot: Server) -> None:
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(one_slot.v1 + "/chat/completions", json=LONG, headers=headers(), timeout=1.0)
    wait_idle(one_slot, timeout=5)
    assert short_request_seconds(one_slot) < 5


def test_full_queue_is_503_with_retry_after(one_slot: Server) -> None:
    def long_stream() -> None:
        with contextlib.suppress(httpx.HTTPError):
            httpx.post(one_slot.v1 + "/chat/completions", json=LONG, headers=headers(), timeout=3)

    running = threading.Thread(target=long_stream)
    running.start()
    deadline = time.monotonic() + 5
    while httpx.get(one_slot.url + "/health").json()["running"] == 0:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    queued = threading.Thread(target=long_stream)
    queued.start()
    while httpx.get(one_slot.url + "/health").json()["queued"] == 0:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    refused = httpx.post(one_slot.v1 + "/chat/completions", json=SHORT, headers=headers())
    assert refused.status_code == 503
    assert refused.headers["Retry-After"].isdigit()
    assert refused.json()["error"]["code"] == "engine_overloaded"
    running.join()
    queued.join()
    wait_idle(one_slot)
