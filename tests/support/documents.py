"""Small real documents for tests: a hand-written PDF (one text line per page), a DOCX
made with python-docx, and a DOCX-looking zip bomb that declares gigabytes; and
`wait_indexed`, which polls a document the server indexes in the background until done."""

from __future__ import annotations

import io
import time
import zipfile
from typing import Any, Protocol

import httpx


class Getter(Protocol):
    def get(self, path: str, **kw: Any) -> httpx.Response: ...


def wait_indexed(client: Getter, document_id: str, timeout: float = 60) -> dict[str, Any]:
    """The document once it is `ready` or `error` (polled over HTTP)."""
    deadline = time.monotonic() + timeout
    while True:
        r = client.get(f"/api/documents/{document_id}")
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        if body["status"] in ("ready", "error"):
            return body
        assert time.monotonic() < deadline, f"still {body['status']} after {timeout} s"
        time.sleep(0.05)


def make_pdf(pages: list[str]) -> bytes:
    """A valid PDF with one page per string, in Helvetica, with a correct xref table."""
    count = len(pages)
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids ["
        + b" ".join(f"{4 + 2 * i} 0 R".encode() for i in range(count))
        + f"] /Count {count} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, text in enumerate(pages):
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        stream = f"BT /F1 12 Tf 72 720 Td ({escaped}) Tj ET".encode("latin-1")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {5 + 2 * i} 0 R"
            " /Resources << /Font << /F1 3 0 R >> >> >>".encode()
        )
        objects.append(f"<< /Length {len(stream)} >>\nstream\n".encode() + stream + b"\nendstream")
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    out.writelines(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out.write(
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return out.getvalue()


def make_docx(items: list[tuple[int, str]]) -> bytes:
    """A DOCX of (level, text): level 0 a paragraph, 1..6 a heading of that level."""
    import docx

    document = docx.Document()
    for level, text in items:
        if level:
            document.add_heading(text, level=level)
        else:
            document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def make_zip_bomb(inflated: int = 32 * 1024 * 1024, declared: int | None = None) -> bytes:
    """A DOCX-shaped zip whose word/document.xml inflates from a few KB to `inflated`
    bytes of zeros; with `declared`, its central directory also claims that size."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", bytes(inflated))
    data = bytearray(out.getvalue())
    if declared is not None:
        _declare(data, b"word/document.xml", declared)
    return bytes(data)


def _declare(data: bytearray, name: bytes, size: int) -> None:
    """Overwrite the uncompressed size that the central directory gives for `name`."""
    index = data.find(b"PK\x01\x02")
    while index >= 0:
        name_length = int.from_bytes(data[index + 28 : index + 30], "little")
        if bytes(data[index + 46 : index + 46 + name_length]) == name:
            data[index + 24 : index + 28] = min(size, 0xFFFFFFFE).to_bytes(4, "little")
        index = data.find(b"PK\x01\x02", index + 4)
