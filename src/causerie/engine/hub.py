"""Fetch GGUF models from the Hugging Face Hub into the models folder (`causerie pull`).

A file lands at `models_dir/OWNER__REPO/FILE.gguf` only once its sha256 (or git blob sha1)
matches the Hub's; until then it grows in `FILE.gguf.<sha12>.part`, which a later pull
resumes with an HTTP Range request. Every failure is a one-line `DownloadError`.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import httpx2  # huggingface_hub's HTTP client: its errors are what a dead network raises
from huggingface_hub import (
    HfApi,
    constants,
    get_hf_file_metadata,
    get_session,
    hf_hub_url,
    hf_raise_for_status,
)
from huggingface_hub.errors import (
    FileMetadataError,
    GatedRepoError,
    HfHubHTTPError,
    HFValidationError,
    OfflineModeIsEnabled,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.utils import build_hf_headers  # type: ignore[attr-defined]  # not re-exported

from causerie.core.errors import DownloadError

DEFAULT_ENDPOINT = "https://huggingface.co"
PREFERRED_QUANT = "Q4_K_M"
ATTEMPTS = 3  # tries per pull; what is fetched before a failure is kept for the next pull
RETRY_WAIT = 0.5  # seconds before the second try, doubled for the next
CHUNK = 1 << 20
_REPO_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SHA1 = re.compile(r"^[0-9a-f]{40}$")

Progress = Callable[[int, int | None], None]
"""Called with (bytes on disk, total bytes or None) as the download advances."""
Notify = Callable[[str], None]


@dataclass(frozen=True)
class RemoteFile:
    """One file of a Hub repository, pinned to a commit, with what it must hash to."""

    repo: str
    filename: str
    revision: str
    size: int | None
    sha256: str | None


def resolve_endpoint(endpoint: str | None) -> str:
    """`endpoint`, else `$HF_ENDPOINT`, else the public Hub (no trailing slash)."""
    chosen = endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT
    return chosen.rstrip("/")


def parse_spec(spec: str) -> tuple[str, str | None]:
    """`OWNER/REPO[/PATH/FILE.gguf]` -> (`OWNER/REPO`, file path or None)."""
    parts = spec.strip().strip("/").split("/")
    usage = f"expected OWNER/REPO or OWNER/REPO/FILE.gguf, got '{spec}'"
    if len(parts) < 2 or not all(_REPO_PART.match(p) for p in parts[:2]):
        raise DownloadError(usage)
    repo, rest = "/".join(parts[:2]), parts[2:]
    if not rest:
        return repo, None
    if any(p in ("", ".", "..") for p in rest):
        raise DownloadError(usage)
    filename = "/".join(rest)
    if not filename.lower().endswith(".gguf"):
        raise DownloadError(f"'{filename}' is not a .gguf file ({usage})")
    return repo, filename


def choose_gguf(repo: str, filenames: Sequence[str]) -> str:
    """The only GGUF of a repository, else its only Q4_K_M one, else a listing error."""
    ggufs = sorted(f for f in filenames if f.lower().endswith(".gguf"))
    if len(ggufs) == 1:
        return ggufs[0]
    if not ggufs:
        raise DownloadError(f"{repo} has no .gguf file")
    preferred = [f for f in ggufs if PREFERRED_QUANT.lower() in f.lower()]
    if len(preferred) == 1:
        return preferred[0]
    choices = ", ".join(preferred or ggufs)
    raise DownloadError(
        f"{repo} has {len(ggufs)} GGUF files; pick one with "
        f"`causerie pull {repo}/FILE.gguf` (choices: {choices})"
    )


def local_path(models_dir: Path, repo: str, filename: str) -> Path:
    """Where `repo`'s `filename` lives in the models folder."""
    return models_dir / repo.replace("/", "__") / PurePosixPath(filename)


@contextmanager
def _hub_errors(endpoint: str, repo: str, filename: str | None = None) -> Iterator[None]:
    """Turn huggingface_hub's and httpx2's exceptions into one-line `DownloadError`s."""
    what = f"{repo}/{filename}" if filename else repo
    try:
        yield
    except OfflineModeIsEnabled:
        raise DownloadError("downloads are disabled: HF_HUB_OFFLINE is set") from None
    except GatedRepoError:
        raise DownloadError(
            f"{repo} is gated: accept its terms at {endpoint}/{repo} and set HF_TOKEN"
        ) from None
    except RepositoryNotFoundError:
        raise DownloadError(
            f"no model repository '{repo}' on {endpoint} (a private one needs HF_TOKEN)"
        ) from None
    except RevisionNotFoundError:
        raise DownloadError(f"{repo} has no such revision on {endpoint}") from None
    except RemoteEntryNotFoundError:
        raise DownloadError(f"{repo} has no file '{filename}' on {endpoint}") from None
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "an error"
        raise DownloadError(f"the Hub at {endpoint} answered HTTP {status} for {what}") from None
    except FileMetadataError:
        raise DownloadError(f"{endpoint} does not answer like a Hugging Face Hub") from None
    except (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.ProxyError):
        raise DownloadError(
            f"cannot reach the Hugging Face Hub at {endpoint}: are you offline?"
        ) from None
    except httpx2.TimeoutException:
        raise DownloadError(f"the Hugging Face Hub at {endpoint} did not answer in time") from None
    except (httpx2.UnsupportedProtocol, httpx2.InvalidURL):
        raise DownloadError(f"invalid Hugging Face Hub endpoint: {endpoint}") from None
    except httpx2.TransportError as exc:
        raise DownloadError(f"connection to {endpoint} failed: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def describe(repo: str, filename: str | None, endpoint: str) -> RemoteFile:
    """Ask the Hub for `repo`'s files and pick `filename` (or the GGUF to use)."""
    with _hub_errors(endpoint, repo):
        try:
            info = HfApi(endpoint=endpoint).model_info(
                repo, files_metadata=True, timeout=constants.HF_HUB_ETAG_TIMEOUT
            )
        except HFValidationError:
            raise DownloadError(f"'{repo}' is not a valid Hugging Face repository id") from None
        except (ValueError, KeyError, TypeError) as exc:  # not JSON, or not a model's JSON
            if isinstance(exc, HfHubHTTPError):
                raise
            raise DownloadError(f"{endpoint} does not answer like a Hugging Face Hub") from None
    siblings = {s.rfilename: s for s in info.siblings or []}
    if filename is None:
        filename = choose_gguf(repo, list(siblings))
    elif filename not in siblings:
        ggufs = ", ".join(sorted(f for f in siblings if f.lower().endswith(".gguf"))) or "none"
        raise DownloadError(f"{repo} has no file '{filename}' (GGUF files: {ggufs})")
    sibling = siblings[filename]
    lfs = sibling.lfs
    return RemoteFile(
        repo=repo,
        filename=filename,
        revision=info.sha or "main",
        size=lfs.size if lfs is not None else sibling.size,
        sha256=lfs.sha256.lower() if lfs is not None else None,
    )


def _digest(path: Path, algorithm: str, prefix: bytes = b"") -> str:
    hasher = hashlib.new(algorithm, prefix)
    with path.open("rb") as handle:
        while block := handle.read(CHUNK):
            hasher.update(block)
    return hasher.hexdigest()


def _matches(path: Path, sha256: str | None, etag: str | None) -> bool:
    """Whether `path` is the Hub's file: LFS sha256, else the git blob sha1 in the ETag."""
    if sha256 is not None:
        return _digest(path, "sha256") == sha256
    if etag is not None and _SHA256.match(etag):
        return _digest(path, "sha256") == etag
    if etag is not None and _SHA1.match(etag):
        return _digest(path, "sha1", f"blob {path.stat().st_size}\0".encode()) == etag
    raise DownloadError(f"the Hub gave no checksum for {path.name}: refusing an unverified file")


def _mb(size: int | None) -> str:
    return "? MB" if size is None else f"{size / 1e6:.1f} MB"


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc.lower()


def _fetch_once(
    url: str, headers: dict[str, str], part: Path, size: int | None, progress: Progress | None
) -> None:
    """GET `url` into `part`, continuing from its current size with a Range request."""
    done = part.stat().st_size if part.exists() else 0
    request_headers = {**headers, "Accept-Encoding": "identity"}
    if done:
        request_headers["Range"] = f"bytes={done}-"
    timeout = constants.HF_HUB_DOWNLOAD_TIMEOUT
    with get_session().stream("GET", url, headers=request_headers, timeout=timeout) as response:
        if response.status_code == 416 and done:
            part.unlink()
            raise DownloadError(f"the server refused to resume {part.name}: run again to restart")
        hf_raise_for_status(response)
        if done and response.status_code != 206:
            done = 0  # the server ignored the Range header and sends the whole file
        elif done and not response.headers.get("Content-Range", "").startswith(f"bytes {done}-"):
            raise DownloadError(f"the server resumed {part.name} at the wrong offset")
        length = response.headers.get("Content-Length")
        total = done + int(length) if length and length.isdigit() else size
        with part.open("ab" if done else "wb") as sink:
            for block in response.iter_bytes():  # as received: a drop loses nothing
                sink.write(block)
                done += len(block)
                if progress is not None:
                    progress(done, total)


def _fetch(
    url: str, headers: dict[str, str], part: Path, size: int | None, progress: Progress | None
) -> None:
    """`_fetch_once` with a few quick retries after a dropped connection, each resuming."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            _fetch_once(url, headers, part, size, progress)
            return
        except (httpx2.ReadError, httpx2.RemoteProtocolError, httpx2.ReadTimeout) as exc:
            if attempt == ATTEMPTS:
                have = part.stat().st_size if part.exists() else 0
                raise DownloadError(
                    f"download of {part.name} broke off after {have} bytes "
                    f"({_first_line(exc)}): run the same command again to resume"
                ) from None
            time.sleep(RETRY_WAIT * 2 ** (attempt - 1))


def download(
    remote: RemoteFile,
    dest: Path,
    endpoint: str,
    *,
    progress: Progress | None = None,
    notify: Notify | None = None,
) -> Path:
    """Fetch `remote` to `dest` through a resumable `.part` file; verify it before keeping it."""
    say = notify or (lambda _text: None)
    url = hf_hub_url(remote.repo, remote.filename, revision=remote.revision, endpoint=endpoint)
    headers = build_hf_headers()
    with _hub_errors(endpoint, remote.repo, remote.filename):
        meta = get_hf_file_metadata(url, headers=headers, endpoint=endpoint)
    size = meta.size if meta.size is not None else remote.size
    etag = meta.etag.lower() if meta.etag else None
    sha256 = remote.sha256 or (etag if etag and _SHA256.match(etag) else None)
    if dest.is_file():
        if _matches(dest, sha256, etag):
            say(f"{dest} is already downloaded and verified")
            return dest
        say(f"{dest} differs from the Hub's copy: downloading it again")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tag = (sha256 or etag or remote.revision)[:12]
    part = dest.with_name(f"{dest.name}.{tag}.part")
    for stale in dest.parent.glob(f"{dest.name}.*.part"):
        if stale != part:
            stale.unlink()
    have = part.stat().st_size if part.exists() else 0
    if size is not None and have > size:
        part.unlink()
        have = 0
    if size is not None and shutil.disk_usage(dest.parent).free < size - have:
        raise DownloadError(f"not enough free disk space in {dest.parent} for {size} bytes")
    what = f"{remote.repo}/{remote.filename}"
    if have:
        say(f"resuming {what} at {_mb(have)} of {_mb(size)}")
    else:
        say(f"downloading {what} ({_mb(size)}) from {endpoint}")
    location = meta.location or url
    if _origin(location) != _origin(endpoint):  # a CDN: keep the token on the Hub
        headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
    if size is None or have < size:
        with _hub_errors(endpoint, remote.repo, remote.filename):
            _fetch(location, headers, part, size, progress)
    say(f"verifying the checksum of {remote.filename}")
    if not _matches(part, sha256, etag):
        part.unlink()
        raise DownloadError(
            f"checksum mismatch for {remote.repo}/{remote.filename}: the download was deleted"
        )
    part.replace(dest)
    return dest


def pull(
    spec: str,
    models_dir: Path,
    endpoint: str | None = None,
    *,
    progress: Progress | None = None,
    notify: Notify | None = None,
) -> Path:
    """Download `OWNER/REPO[/FILE.gguf]` into `models_dir`; return the verified file's path."""
    hub = resolve_endpoint(endpoint)
    repo, filename = parse_spec(spec)
    remote = describe(repo, filename, hub)
    dest = local_path(models_dir, repo, remote.filename)
    return download(remote, dest, hub, progress=progress, notify=notify)
