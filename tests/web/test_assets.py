"""The UI's own files: no inline code, nothing fetched from elsewhere, no credential in web
storage, and every module import resolves."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from causerie.web.routes import INDEX, STATIC

OURS = [p for p in STATIC.rglob("*") if p.is_file() and "vendor" not in p.parts]
URL = re.compile(r"""(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}""", re.IGNORECASE)
ALLOWED_URLS = {"http://www.w3.org", "//www.w3.org"}  # SVG's XML namespace, never fetched
IMPORT = re.compile(r"""^\s*import\s[^'"]*['"]([^'"]+)['"]""", re.MULTILINE)


class _Index(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "script" and not names.get("src"):
            self.problems.append("inline <script>")
        if tag == "style":
            self.problems.append("<style> element")
        if "style" in names:
            self.problems.append(f"style attribute on <{tag}>")
        if any(n.startswith("on") for n in names):
            self.problems.append(f"event handler attribute on <{tag}>")
        for key in ("src", "href"):
            value = names.get(key) or ""
            if value and not value.startswith("/static/"):
                self.problems.append(f"{tag} {key}={value}")


def test_index_has_no_inline_code_and_only_local_assets() -> None:
    parser = _Index()
    parser.feed(INDEX.read_text(encoding="utf-8"))
    assert parser.problems == []


def test_no_file_of_ours_names_another_origin() -> None:
    found = []
    for path in OURS:
        if path.suffix not in (".js", ".css", ".html", ".json", ".svg"):
            continue
        for match in URL.findall(path.read_text(encoding="utf-8")):
            if match not in ALLOWED_URLS:
                found.append(f"{path.relative_to(STATIC)}: {match}")
    assert found == []


def test_css_loads_nothing_remote() -> None:
    for path in STATIC.rglob("*.css"):
        text = path.read_text(encoding="utf-8")
        assert "@import" not in text, path
        for url in re.findall(r"url\(([^)]*)\)", text):
            assert url.strip("'\" ").startswith("data:"), (path, url)


def test_web_storage_holds_only_the_theme_name() -> None:
    for path in STATIC.rglob("*.js"):
        if "vendor" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        assert "sessionStorage" not in text, path
        assert "document.cookie" not in text, path
        for call in re.findall(r"localStorage\.(\w+)\(([^,)]*)", text):
            assert call[1].strip() == "'causerie.theme'", (path, call)


def test_no_html_sink_outside_the_sanitiser() -> None:
    """Strings reach the DOM as text; only markdown.js turns (sanitised) HTML into nodes."""
    sinks = re.compile(r"\.innerHTML\s*=|\.outerHTML\s*=|insertAdjacentHTML|document\.write\(")
    for path in STATIC.rglob("*.js"):
        if "vendor" in path.parts:
            continue
        assert not sinks.search(path.read_text(encoding="utf-8")), path


def test_every_module_import_resolves() -> None:
    for path in STATIC.rglob("*.js"):
        if "vendor" in path.parts:
            continue
        for spec in IMPORT.findall(path.read_text(encoding="utf-8")):
            target = (
                (STATIC / spec.removeprefix("/static/"))
                if spec.startswith("/")
                else (path.parent / spec)
            )
            assert Path(target).resolve().is_file(), f"{path.name} imports {spec}"
