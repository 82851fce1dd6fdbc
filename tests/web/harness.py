"""Browser-test harness: Debian's Chromium driven by Playwright, a page guard that fails a
test on any request leaving our origin, any JavaScript dialog, page error or CSP violation,
and screenshots written to test-artifacts/web/."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "web"
CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct horse battery staple"

# Collects what the page must never do; installed before any page script runs (Playwright
# injects init scripts outside the page's CSP).
WATCH_SCRIPT = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || '') + ' ' + (e.sample || ''));
});
"""


def chromium_or_skip() -> str:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    if os.environ.get("CI"):
        pytest.fail("/usr/bin/chromium is missing: run scripts/ensure-chromium.sh", pytrace=False)
    pytest.skip("/usr/bin/chromium is missing (scripts/ensure-chromium.sh installs it)")


def playwright_or_skip() -> Any:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("playwright is not installed (pip install playwright)", pytrace=False)
        pytest.skip("playwright is not installed")
    return sync_playwright


@dataclass
class Guard:
    """Everything a page did that it must not: set on the page's events."""

    origin: str
    foreign: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def attach(self, page: Any) -> None:
        page.on("request", self._request)
        page.on("dialog", self._dialog)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def _request(self, request: Any) -> None:
        url = request.url
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob", "about"):
            return
        if f"{parts.scheme}://{parts.netloc}" != self.origin:
            self.foreign.append(url)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def check(self, page: Any) -> None:
        violations = page.evaluate("window.__csp || []") if not page.is_closed() else []
        assert not self.foreign, f"requests left our origin: {self.foreign}"
        assert not self.dialogs, f"a script opened dialogs: {self.dialogs}"
        assert not self.errors, f"page errors: {self.errors}"
        assert not violations, f"CSP violations: {violations}"


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), animations="disabled")
    return path


def reset_artifacts() -> None:
    if ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
