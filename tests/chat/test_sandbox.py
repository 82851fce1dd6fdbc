"""The Python sandbox: runs code, confines files to its own temporary directory, has no
network, no subprocesses, and is killed at its time and memory limits."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from causerie.chat.sandbox import SandboxLimits, isolation_level, run_python

LEVELS = ["jail", "network", "hook"]
# every level this system offers, the strongest first: each must hold on its own
ISOLATION = LEVELS[LEVELS.index(isolation_level()) :]


def test_runs_code_and_uses_its_own_directory() -> None:
    code = (
        "import json, math, os\n"
        "open('data.txt', 'w').write('hello')\n"
        "print(open('data.txt').read(), math.factorial(10), sorted(os.listdir('.')))\n"
    )
    result = run_python(code)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "hello 3628800 ['data.txt', 'main.py']"


def test_errors_come_back_on_stderr() -> None:
    result = run_python("1 / 0")
    assert result.exit_code != 0 and "ZeroDivisionError" in result.stderr


@pytest.mark.parametrize(
    "attempt",
    [
        "print(open({secret!r}).read())",
        "import os; print(os.read(os.open({secret!r}, os.O_RDONLY), 99))",
        "import os; print(os.listdir({folder!r}))",
        "print(open('/etc/passwd').read())",
        "open('../escape.txt', 'w').write('x')",
        "import os; os.remove({secret!r})",
        "import pathlib; print(pathlib.Path({secret!r}).read_text())",
    ],
)
@pytest.mark.parametrize("isolation", ISOLATION)
def test_cannot_touch_files_outside_its_directory(
    tmp_path: Path, attempt: str, isolation: str
) -> None:
    secret = tmp_path / "causerie-data" / "secret.db"
    secret.parent.mkdir()
    secret.write_text("top secret")
    code = attempt.format(secret=str(secret), folder=str(secret.parent))
    wrapped = f"try:\n    {code}\nexcept Exception as e:\n    print('DENIED', e)"
    result = run_python(wrapped, isolation=isolation)
    assert result.stdout.startswith("DENIED"), result.stdout + result.stderr
    assert "top secret" not in result.stdout
    assert secret.read_text() == "top secret"


@pytest.mark.parametrize("isolation", ISOLATION)
def test_no_network(isolation: str) -> None:
    code = (
        "import socket\n"
        "try:\n"
        "    socket.create_connection(('127.0.0.1', 9), timeout=2)\n"
        "    print('CONNECTED')\n"
        "except Exception as e:\n"
        "    print('DENIED', type(e).__name__)\n"
    )
    result = run_python(code, isolation=isolation)
    assert result.stdout.startswith("DENIED"), result.stdout + result.stderr
    assert result.isolation == isolation


@pytest.mark.parametrize(
    "attempt",
    [
        "import subprocess; subprocess.run(['cat', '/etc/passwd'])",
        "import os; os.system('cat /etc/passwd')",
        "import ctypes",
        "import os; os.fork()",
    ],
)
def test_no_processes_or_native_calls(attempt: str) -> None:
    result = run_python(attempt)
    assert result.exit_code != 0
    assert "root:" not in result.stdout
    assert "sandbox" in result.stderr


def test_killed_at_its_time_limit() -> None:
    started = time.monotonic()
    result = run_python("while True:\n    pass", SandboxLimits(time_s=1.0))
    assert result.timed_out and result.exit_code is None
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("isolation", ISOLATION)
def test_an_output_flood_is_bounded_outside_causerie(isolation: str) -> None:
    """A program printing without end is stopped by its own file-size limit; what comes
    back is a clipped head, never the flood."""
    limits = SandboxLimits(time_s=5.0, file_bytes=1 << 20, output_chars=1000)
    result = run_python("while True:\n    print('x' * 100_000)", limits, isolation=isolation)
    assert not result.timed_out and result.exit_code != 0  # SIGXFSZ: the limit hit, at once
    assert result.stdout.startswith("x" * 1000) and result.stdout.endswith("[output truncated]")
    assert len(result.stdout) < 1100


def test_memory_is_limited() -> None:
    result = run_python("x = bytearray(2 * 1024 ** 3)", SandboxLimits(memory_bytes=256 << 20))
    assert result.exit_code != 0 and "MemoryError" in result.stderr


def test_environment_is_minimal() -> None:
    result = run_python("import os; print(sorted(os.environ))")
    assert result.stdout.strip() == "['HOME', 'LANG', 'PATH', 'TMPDIR']"


ESCAPE = """
def find():
    try:
        raise ValueError
    except ValueError as e:
        frame = e.__traceback__.tb_frame
    while frame is not None:
        for value in frame.f_locals.values():
            if callable(value) and getattr(value, "__closure__", None):
                return value
        frame = frame.f_back
import builtins, os, posixpath
builtins.isinstance = lambda *a: True
builtins.any = lambda *a: True
os.fspath = lambda p: "main.py"
posixpath.realpath = lambda p, **k: os.getcwd()
hook = find()
for cell in (hook.__closure__ or ()) if hook else ():
    try:
        cell.cell_contents = "" if isinstance(cell.cell_contents, str) else cell.cell_contents
    except ValueError:
        pass
try:
    print(open({secret!r}).read())
except Exception as e:
    print("DENIED", e)
"""


@pytest.mark.parametrize("isolation", ISOLATION)
def test_monkeypatching_does_not_unlock_the_hook(tmp_path: Path, isolation: str) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    result = run_python(ESCAPE.format(secret=str(secret)), isolation=isolation)
    assert "top secret" not in result.stdout
    assert result.stdout.startswith("DENIED"), result.stdout + result.stderr
