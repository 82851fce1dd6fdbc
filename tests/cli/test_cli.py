"""The `causerie` command as a user runs it: real processes, real model, real stdin."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx

from tests.conftest import API_KEY, CAUSERIE, Server, free_port, start_server, stop_server


def causerie(*args: str, stdin: str | None = None, env: dict[str, str] | None = None,
             timeout: float = 120) -> subprocess.CompletedProcess[str]:  # fmt: skip
    return subprocess.run(
        [CAUSERIE, *args], input=stdin, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


def test_version() -> None:
    result = causerie("--version")
    assert result.returncode == 0 and result.stdout.startswith("causerie ")


def test_models_lists_the_bundled_model(tmp_path: Path) -> None:
    result = causerie("models", "--data-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "smollm2-135m" in result.stdout and "bundled" in result.stdout


def test_bad_model_files_end_with_one_line(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.gguf"
    corrupt.write_bytes(b"GGUF" + os.urandom(64))
    unreadable = tmp_path / "secret.gguf"
    unreadable.write_bytes(b"GGUF")
    unreadable.chmod(0)
    cases = [str(tmp_path / "missing.gguf"), str(corrupt), "no-such-model"]
    if os.geteuid() != 0:  # root reads anything
        cases.append(str(unreadable))
    for model in cases:
        result = causerie("serve", "--model", model, "--data-dir", str(tmp_path), "--port", "0")
        assert result.returncode == 1, (model, result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("causerie: error:"), result.stderr
        assert "Traceback" not in result.stderr + result.stdout


def test_serve_reads_port_from_environment_and_binds_loopback(tmp_path: Path) -> None:
    port = free_port()
    env_server = start_server(tmp_path, "--ctx-size", "512", "--parallel", "1")
    stop_server(env_server)
    proc = subprocess.Popen(
        [CAUSERIE, "serve", "--data-dir", str(tmp_path), "--ctx-size", "512", "--parallel", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "CAUSERIE_PORT": str(port)},
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = ""
        for _ in range(20):
            line = proc.stdout.readline()
            if "ready at" in line:
                break
        assert f"http://127.0.0.1:{port}" in line
        assert httpx.get(f"http://127.0.0.1:{port}/health").json()["status"] == "ok"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_config_file_sets_defaults_and_flags_win(tmp_path: Path) -> None:
    config = tmp_path / "causerie.toml"
    config.write_text("port = 1\nctx_size = 300\nparallel = 1\n")
    port = free_port()
    proc = subprocess.Popen(
        [CAUSERIE, "serve", "--config", str(config), "--port", str(port), "--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert "context 300 tokens" in first and "1 parallel" in first
        assert f":{port}" in proc.stdout.readline()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    bad = tmp_path / "bad.toml"
    bad.write_text("port = 'x'\n")
    result = causerie("serve", "--config", str(bad))
    assert result.returncode == 1 and "invalid setting port" in result.stderr


def test_chat_in_process_through_stdin(tmp_path: Path) -> None:
    script = "What is the capital of France?\n/reset\nSay hello.\n/exit\n"
    result = causerie(
        "chat", "--data-dir", str(tmp_path), "--temperature", "0", "--max-tokens", "20",
        "--system", "You are a helpful assistant.", "--ctx-size", "512", stdin=script,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("assistant> ") == 2
    assert "(conversation cleared)" in result.stdout
    assert "Paris" in result.stdout


def test_chat_against_a_running_server(server: Server) -> None:
    result = causerie(
        "chat", "--url", server.url, "--temperature", "0", "--max-tokens", "20",
        "--system", "You are a helpful assistant.",
        stdin="What is the capital of France?\nAnd of Italy?\n",
        env={"CAUSERIE_API_KEY": API_KEY},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    answers = [line for line in result.stdout.split("assistant> ")[1:] if line.strip()]
    assert len(answers) == 2 and all(a.split("\nyou>")[0].strip() for a in answers)


def test_chat_reports_a_dead_server_in_one_line(tmp_path: Path) -> None:
    result = causerie("chat", "--url", f"http://127.0.0.1:{free_port()}", stdin="hi\n")
    assert result.returncode == 0
    assert "(error:" in result.stdout and "Traceback" not in result.stdout + result.stderr


def test_db_upgrade_and_create_admin(tmp_path: Path) -> None:
    first = causerie("db", "upgrade", "--data-dir", str(tmp_path))
    assert first.returncode == 0 and "upgraded" in first.stdout, first.stderr
    again = causerie("db", "upgrade", "--data-dir", str(tmp_path))
    assert again.returncode == 0 and "already at revision" in again.stdout
    made = causerie(
        "users", "create-admin", "root@example.org", "--password-stdin", "--data-dir", str(tmp_path),
        stdin="a long enough password\n",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    twice = causerie(
        "users", "create-admin", "root@example.org", "--password-stdin", "--data-dir", str(tmp_path),
        stdin="a long enough password\n",
    )  # fmt: skip
    assert twice.returncode == 1 and len(twice.stderr.strip().splitlines()) == 1
    server = start_server(tmp_path, "--ctx-size", "256", "--parallel", "1")
    try:
        login = httpx.post(
            server.url + "/api/auth/login",
            json={"email": "root@example.org", "password": "a long enough password"},
        )
        assert login.status_code == 200 and login.json()["user"]["role"] == "admin"
    finally:
        stop_server(server)
