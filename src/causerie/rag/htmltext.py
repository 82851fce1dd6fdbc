"""HTML -> `Block`s with the standard library's parser: h1–h6 become headings, block
elements end paragraphs, and the text of script, style, title, svg and the like is dropped.
"""

from __future__ import annotations

from html.parser import HTMLParser

from causerie.rag.blocks import Block

_SKIP = frozenset({"script", "style", "noscript", "template", "title", "svg", "iframe", "object"})
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_BREAKS = frozenset({
    "p", "div", "br", "li", "ul", "ol", "tr", "table", "section", "article", "header",
    "footer", "nav", "aside", "main", "pre", "blockquote", "dl", "dt", "dd", "figure",
    "figcaption", "hr", "form", "fieldset", "address", "details", "summary",
})  # fmt: skip


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.items: list[tuple[str, int]] = []  # (text, level)
        self.parts: list[str] = []
        self.skipping: list[str] = []
        self.level = 0

    def flush(self) -> None:
        text = " ".join("".join(self.parts).split())
        if text:
            self.items.append((text, self.level))
        self.parts.clear()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skipping.append(tag)
        elif tag in _HEADINGS:
            self.flush()
            self.level = _HEADINGS[tag]
        elif tag in _BREAKS:
            self.flush()

    def handle_endtag(self, tag: str) -> None:
        if self.skipping:
            if tag == self.skipping[-1]:
                self.skipping.pop()
        elif tag in _HEADINGS:
            self.flush()
            self.level = 0
        elif tag in _BREAKS:
            self.flush()

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_blocks(markup: str) -> list[Block]:
    collector = _Collector()
    collector.feed(markup)
    collector.close()
    collector.flush()
    return [Block(text, level) for text, level in collector.items]
