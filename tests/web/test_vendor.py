"""The vendored front-end libraries are byte-identical to the packages that
package-lock.json pins (scripts/check-vendor.sh installs them with `npm ci`)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.web.harness import ROOT

SCRIPT = ROOT / "scripts" / "check-vendor.sh"


@pytest.mark.slow
def test_vendored_files_match_the_lockfile() -> None:
    if shutil.which("npm") is None:
        if os.environ.get("CI"):
            pytest.fail("npm is needed to check the vendored front-end libraries")
        pytest.skip("npm is not installed")
    result = subprocess.run(
        ["bash", str(SCRIPT)], capture_output=True, text=True, timeout=240, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "matches package-lock.json" in result.stdout
