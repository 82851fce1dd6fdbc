"""A loopback stand-in for the Hugging Face Hub: the model API, `resolve` and an LFS "CDN".

It answers what huggingface_hub 2.4 asks for a file list and a download (302 from `resolve`
to a CDN on another port, X-Repo-Commit / X-Linked-Etag / X-Linked-Size, Range requests),
logs every request, and can corrupt, break off or stall a transfer on demand.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import unquote, urlsplit

_API = re.compile(r"^/api/models/([^/]+/[^/]+)(?:/revision/([^/]+))?$")
_RESOLVE = re.compile(r"^/([^/]+/[^/]+)/resolve/([^/]+)/(.+)$")
_BLOB = re.compile(r"^/blobs/([0-9a-f]{64})$")
_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def tiny_gguf(basename: str = "tiny-test", size_label: str = "1M", padding: int = 0) -> bytes:
    """A valid GGUF v3 header (no tensors) whose model id is `basename-size_label`."""

    def text(value: str) -> bytes:
        raw = value.encode()
        return struct.pack("<Q", len(raw)) + raw

    pairs = [
        text("general.architecture") + struct.pack("<I", 8) + text("llama"),
        text("general.basename") + struct.pack("<I", 8) + text(basename),
        text("general.size_label") + struct.pack("<I", 8) + text(size_label),
        text("llama.context_length") + struct.pack("<II", 4, 512),
    ]
    header = b"GGUF" + struct.pack("<IQQ", 3, 0, len(pairs)) + b"".join(pairs)
    return header + bytes(range(256)) * (padding // 256) + bytes(padding % 256)


@dataclass
class HubFile:
    data: bytes  # what the Hub says the file is (size, checksums)
    lfs: bool = True
    served: bytes | None = None  # what is actually sent, when it differs (corruption)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def pointer(self) -> bytes:
        spec = "version https://git-lfs.github.com/spec/v1"
        return f"{spec}\noid sha256:{self.sha256}\nsize {len(self.data)}\n".encode()

    @property
    def body(self) -> bytes:
        return self.data if self.served is None else self.served

    def sibling(self, name: str) -> dict[str, object]:
        if not self.lfs:
            return {"rfilename": name, "size": len(self.data), "blobId": git_blob_sha1(self.data)}
        lfs = {"sha256": self.sha256, "size": len(self.data), "pointerSize": len(self.pointer)}
        return {
            "rfilename": name,
            "size": len(self.data),
            "blobId": git_blob_sha1(self.pointer),
            "lfs": lfs,
        }


@dataclass
class Recorded:
    server: str  # "hub" or "cdn"
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class _Repo:
    commit: str
    files: dict[str, HubFile] = field(default_factory=dict)


class FakeHub:
    """Start with `with FakeHub() as hub:`; `hub.url` is the endpoint to download from."""

    def __init__(self) -> None:
        self.repos: dict[str, _Repo] = {}
        self.requests: list[Recorded] = []
        self.break_at: int | None = None  # absolute offset where file transfers stop
        self.breaks_left = 0
        self.stall_at: int | None = None  # absolute offset where a transfer waits for release()
        self._release = threading.Event()
        self._lock = threading.Lock()
        self._servers = [self._server("hub"), self._server("cdn")]
        self._threads: list[threading.Thread] = []

    # -- content -------------------------------------------------------------------------

    def add_file(self, repo: str, name: str, data: bytes, *, lfs: bool = True) -> HubFile:
        commit = hashlib.sha1(repo.encode()).hexdigest()
        entry = self.repos.setdefault(repo, _Repo(commit))
        entry.files[name] = HubFile(data, lfs=lfs)
        return entry.files[name]

    def corrupt(self, repo: str, name: str) -> None:
        """Serve different bytes while still advertising the true size and checksum."""
        hub_file = self.repos[repo].files[name]
        hub_file.served = bytes([hub_file.data[0] ^ 0xFF]) + hub_file.data[1:]

    def break_transfers(self, at: int, times: int = 1) -> None:
        """The next `times` file GETs close the connection once `at` bytes are on the client."""
        self.break_at, self.breaks_left = at, times

    def stall_transfer(self, at: int) -> None:
        """The next file GET sends up to offset `at`, then hangs until `release()`."""
        self.stall_at = at
        self._release.clear()

    def release(self) -> None:
        self._release.set()

    # -- observations --------------------------------------------------------------------

    def ranges(self) -> list[str | None]:
        """The Range header of every file GET, in order (None for a plain GET)."""
        return [
            r.headers.get("range")
            for r in self.requests
            if r.method == "GET" and (r.server == "cdn" or "/resolve/" in r.path)
        ]

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._servers[0].server_address[1]}"

    @property
    def cdn_url(self) -> str:
        return f"http://127.0.0.1:{self._servers[1].server_address[1]}"

    def __enter__(self) -> FakeHub:
        for server in self._servers:
            thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
        for server in self._servers:
            server.shutdown()
            server.server_close()

    def _server(self, role: str) -> ThreadingHTTPServer:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_HEAD(self) -> None:
                hub._handle(self, role)

            def do_GET(self) -> None:
                hub._handle(self, role)

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        return server

    # -- HTTP ----------------------------------------------------------------------------

    def _handle(self, req: BaseHTTPRequestHandler, role: str) -> None:
        headers = {k.lower(): v for k, v in req.headers.items()}
        with self._lock:
            self.requests.append(Recorded(role, req.command, req.path, headers))
        path = unquote(urlsplit(req.path).path)
        if role == "cdn":
            match = _BLOB.match(path)
            blobs = {f.sha256: f for r in self.repos.values() for f in r.files.values() if f.lfs}
            hub_file = blobs.get(match[1]) if match else None
            if hub_file is None:
                return _reply(req, 404, {}, b"no such blob")
            return self._send_file(req, hub_file, {"ETag": f'"{hub_file.sha256}"'})
        if (match := _API.match(path)) and req.command == "GET":
            return self._model_info(req, match[1], match[2])
        if match := _RESOLVE.match(path):
            return self._resolve(req, match[1], match[2], match[3])
        _reply(req, 404, {}, b"not found")

    def _find_repo(self, req: BaseHTTPRequestHandler, repo: str, rev: str | None) -> _Repo | None:
        entry = self.repos.get(repo)
        if entry is None:
            _reply(req, 404, _error("RepoNotFound", "Repository not found"), b"")
            return None
        if rev not in (None, "main", entry.commit):
            _reply(req, 404, _error("RevisionNotFound", "Invalid rev id"), b"")
            return None
        return entry

    def _model_info(self, req: BaseHTTPRequestHandler, repo: str, rev: str | None) -> None:
        entry = self._find_repo(req, repo, rev)
        if entry is None:
            return
        body = {
            "_id": entry.commit[:24],
            "id": repo,
            "modelId": repo,
            "author": repo.split("/")[0],
            "sha": entry.commit,
            "private": False,
            "gated": False,
            "disabled": False,
            "tags": ["gguf"],
            "lastModified": "2024-07-01T00:00:00.000Z",
            "siblings": [f.sibling(name) for name, f in sorted(entry.files.items())],
        }
        _reply(req, 200, {"Content-Type": "application/json"}, json.dumps(body).encode())

    def _resolve(self, req: BaseHTTPRequestHandler, repo: str, rev: str, name: str) -> None:
        entry = self._find_repo(req, repo, rev)
        if entry is None:
            return
        commit = {"X-Repo-Commit": entry.commit}
        hub_file = entry.files.get(name)
        if hub_file is None:
            return _reply(req, 404, {**commit, **_error("EntryNotFound", "Entry not found")}, b"")
        if not hub_file.lfs:
            etag = {"ETag": f'"{git_blob_sha1(hub_file.data)}"', **commit}
            return self._send_file(req, hub_file, etag)
        headers = {
            **commit,
            "Location": f"{self.cdn_url}/blobs/{hub_file.sha256}",
            "ETag": f'"{git_blob_sha1(hub_file.pointer)}"',
            "X-Linked-Etag": f'"{hub_file.sha256}"',
            "X-Linked-Size": str(len(hub_file.data)),
        }
        _reply(req, 302, headers, b"")

    def _send_file(
        self, req: BaseHTTPRequestHandler, hub_file: HubFile, extra: dict[str, str]
    ) -> None:
        body, size = hub_file.body, len(hub_file.body)
        start, end, status = 0, size - 1, 200
        headers = {**extra, "Accept-Ranges": "bytes", "Content-Type": "application/octet-stream"}
        wanted = req.headers.get("Range")
        if wanted is not None:
            match = _RANGE.match(wanted.strip())
            if match is None or int(match[1]) >= size:
                return _reply(req, 416, {"Content-Range": f"bytes */{size}"}, b"")
            start, status = int(match[1]), 206
            end = min(int(match[2]), size - 1) if match[2] else size - 1
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        chunk = body[start : end + 1]
        if req.command == "HEAD":
            return _reply(
                req, status, {**headers, "Content-Length": str(len(chunk))}, b"", head=True
            )
        stop = len(chunk)
        stall = False
        with self._lock:
            if self.stall_at is not None:
                stop, stall, self.stall_at = max(0, self.stall_at - start), True, None
            elif self.break_at is not None and self.breaks_left > 0:
                stop = max(0, self.break_at - start)
                self.breaks_left -= 1
        req.send_response(status)
        for key, value in {**headers, "Content-Length": str(len(chunk))}.items():
            req.send_header(key, value)
        req.end_headers()
        req.wfile.write(chunk[:stop])
        req.wfile.flush()
        if stop < len(chunk):
            if stall:
                self._release.wait(timeout=30)
            req.close_connection = True  # the client sees the body end early


def _error(code: str, message: str) -> dict[str, str]:
    return {"X-Error-Code": code, "X-Error-Message": message}


def _reply(
    req: BaseHTTPRequestHandler,
    status: int,
    headers: dict[str, str],
    body: bytes,
    *,
    head: bool = False,
) -> None:
    req.send_response(status)
    for key, value in headers.items():
        req.send_header(key, value)
    if not head:
        req.send_header("Content-Length", str(len(body)))
    req.end_headers()
    if req.command != "HEAD":
        req.wfile.write(body)
