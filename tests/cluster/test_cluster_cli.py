"""`causerie cluster` refuses bad options in one line, before any Ray cluster starts."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import CAUSERIE


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--min-replicas", "3", "--max-replicas", "2"], "max_replicas must be at least"),
        (["--initial-replicas", "3"], "initial_replicas must lie between"),
        (["--target-ongoing-requests", "0"], "target_ongoing_requests must be positive"),
        (["--port", "0"], "needs a fixed --port"),
        (["--address", "auto", "--num-cpus", "2"], "apply to --address local only"),
        (["--name", "a/b"], "application name"),
    ],
)
def test_bad_cluster_options_end_with_one_line(tmp_path: Path, args: list[str], words: str) -> None:
    result = subprocess.run(
        [CAUSERIE, "cluster", "serve", "--data-dir", str(tmp_path), *args],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"},
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("causerie: error:"), result.stderr
    assert words in lines[0]


def test_cluster_help_lists_serve_and_status() -> None:
    result = subprocess.run([CAUSERIE, "cluster", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    assert "serve" in result.stdout and "status" in result.stdout
