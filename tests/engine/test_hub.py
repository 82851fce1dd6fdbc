"""engine.hub against a loopback stand-in for the Hugging Face Hub (never the internet)."""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from huggingface_hub import constants

from causerie.core.errors import DownloadError
from causerie.engine import hub
from tests.support.fake_hub import FakeHub, tiny_gguf

REPO = "someone/Tiny-GGUF"
DATA = tiny_gguf(padding=3 << 20)  # big enough to cut in the middle of a transfer


@pytest.fixture(autouse=True)
def isolated_hf(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No token, no ~/.cache, no offline flag, no outside endpoint, no slow retries."""
    home = tmp_path_factory.mktemp("hf_home")
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(home / "token"))
    monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", str(home / "stored_tokens"))
    monkeypatch.setattr(hub, "RETRY_WAIT", 0.01)


@pytest.fixture
def fake() -> Iterator[FakeHub]:
    with FakeHub() as server:
        yield server


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- choosing what to fetch ------------------------------------------------------------------


def test_parse_spec() -> None:
    assert hub.parse_spec("a/b") == ("a/b", None)
    assert hub.parse_spec("a/b/m.Q4_K_M.gguf") == ("a/b", "m.Q4_K_M.gguf")
    assert hub.parse_spec("a/b/sub/m.gguf") == ("a/b", "sub/m.gguf")
    for bad in ("a", "a/", "a/b/README.md", "a/b/../m.gguf", "a b/c", "/a/.x/m.gguf"):
        with pytest.raises(DownloadError):
            hub.parse_spec(bad)


def test_choose_gguf() -> None:
    assert hub.choose_gguf("a/b", ["README.md", "m.gguf"]) == "m.gguf"
    assert hub.choose_gguf("a/b", ["m.Q8_0.gguf", "m.Q4_K_M.gguf", "m.f16.gguf"]) == "m.Q4_K_M.gguf"
    with pytest.raises(DownloadError, match=r"choices: m\.Q5_K_M\.gguf, m\.Q8_0\.gguf"):
        hub.choose_gguf("a/b", ["m.Q8_0.gguf", "m.Q5_K_M.gguf"])
    with pytest.raises(DownloadError, match="has no .gguf file"):
        hub.choose_gguf("a/b", ["model.safetensors"])


def test_endpoint_order(monkeypatch: pytest.MonkeyPatch) -> None:
    assert hub.resolve_endpoint(None) == "https://huggingface.co"
    monkeypatch.setenv("HF_ENDPOINT", "http://mirror.example/")
    assert hub.resolve_endpoint(None) == "http://mirror.example"
    assert hub.resolve_endpoint("http://mine.example") == "http://mine.example"


# -- downloads -------------------------------------------------------------------------------


def test_pull_by_file_lands_in_models_dir(fake: FakeHub, tmp_path: Path) -> None:
    fake.add_file(REPO, "tiny.Q8_0.gguf", DATA)
    fake.add_file(REPO, "README.md", b"# tiny\n", lfs=False)
    notes: list[str] = []
    progress: list[tuple[int, int | None]] = []

    path = hub.pull(
        f"{REPO}/tiny.Q8_0.gguf",
        tmp_path,
        fake.url,
        progress=lambda d, t: progress.append((d, t)),
        notify=notes.append,
    )

    assert path == tmp_path / "someone__Tiny-GGUF" / "tiny.Q8_0.gguf"
    assert sha256(path) == hashlib.sha256(DATA).hexdigest()
    assert files_under(tmp_path) == ["someone__Tiny-GGUF/tiny.Q8_0.gguf"]
    assert progress[-1] == (len(DATA), len(DATA))
    assert any("downloading" in n for n in notes)
    # the real Hub's dance: file list, HEAD on resolve (302 to the CDN), GET from the CDN
    calls = [(r.server, r.method, r.path.split("?")[0]) for r in fake.requests]
    commit = fake.repos[REPO].commit
    assert calls == [
        ("hub", "GET", f"/api/models/{REPO}"),
        ("hub", "HEAD", f"/{REPO}/resolve/{commit}/tiny.Q8_0.gguf"),
        ("cdn", "GET", f"/blobs/{hashlib.sha256(DATA).hexdigest()}"),
    ]


def test_pull_by_repo_alone_prefers_q4_k_m(fake: FakeHub, tmp_path: Path) -> None:
    fake.add_file(REPO, "tiny.Q8_0.gguf", tiny_gguf("other"))
    fake.add_file(REPO, "tiny.Q4_K_M.gguf", DATA)
    fake.add_file(REPO, "config.json", b"{}", lfs=False)

    path = hub.pull(REPO, tmp_path, fake.url)

    assert path.name == "tiny.Q4_K_M.gguf"
    assert sha256(path) == hashlib.sha256(DATA).hexdigest()


def test_pull_by_repo_alone_with_one_gguf(fake: FakeHub, tmp_path: Path) -> None:
    fake.add_file(REPO, "only.gguf", DATA)
    fake.add_file(REPO, "README.md", b"hi", lfs=False)
    assert hub.pull(REPO, tmp_path, fake.url).name == "only.gguf"


def test_ambiguous_repo_lists_the_choices(fake: FakeHub, tmp_path: Path) -> None:
    fake.add_file(REPO, "tiny.Q8_0.gguf", DATA)
    fake.add_file(REPO, "tiny.Q5_K_S.gguf", DATA)
    with pytest.raises(DownloadError, match="choices: tiny.Q5_K_S.gguf, tiny.Q8_0.gguf"):
        hub.pull(REPO, tmp_path, fake.url)
    assert files_under(tmp_path) == []


def test_hf_endpoint_variable_is_used(
    fake: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.add_file(REPO, "only.gguf", DATA)
    monkeypatch.setenv("HF_ENDPOINT", fake.url)
    assert hub.pull(REPO, tmp_path, None).is_file()


def test_non_lfs_file_is_checked_by_git_sha1(fake: FakeHub, tmp_path: Path) -> None:
    small = tiny_gguf()
    fake.add_file(REPO, "small.gguf", small, lfs=False)
    assert hub.pull(f"{REPO}/small.gguf", tmp_path, fake.url).read_bytes() == small
    fake.corrupt(REPO, "small.gguf")
    with pytest.raises(DownloadError, match="checksum mismatch"):
        hub.pull(f"{REPO}/small.gguf", tmp_path / "again", fake.url)


def test_second_pull_does_not_download_again(fake: FakeHub, tmp_path: Path) -> None:
    fake.add_file(REPO, "only.gguf", DATA)
    hub.pull(REPO, tmp_path, fake.url)
    notes: list[str] = []
    hub.pull(REPO, tmp_path, fake.url, notify=notes.append)
    assert len(fake.ranges()) == 1
    assert any("already downloaded" in n for n in notes)


def test_dropped_connection_is_resumed_in_the_same_run(fake: FakeHub, tmp_path: Path) -> None:
    fake.add_file(REPO, "only.gguf", DATA)
    half = len(DATA) // 2
    fake.break_transfers(at=half, times=1)

    path = hub.pull(REPO, tmp_path, fake.url)

    assert fake.ranges() == [None, f"bytes={half}-"]
    assert sha256(path) == hashlib.sha256(DATA).hexdigest()


def test_interrupted_pull_resumes_on_the_next_run(fake: FakeHub, tmp_path: Path) -> None:
    fake.add_file(REPO, "only.gguf", DATA)
    half = len(DATA) // 2
    fake.break_transfers(at=half, times=hub.ATTEMPTS)

    with pytest.raises(DownloadError, match="run the same command again to resume"):
        hub.pull(REPO, tmp_path, fake.url)
    (part,) = (tmp_path / "someone__Tiny-GGUF").glob("only.gguf.*.part")
    assert part.stat().st_size == half
    assert not (tmp_path / "someone__Tiny-GGUF" / "only.gguf").exists()

    notes: list[str] = []
    path = hub.pull(REPO, tmp_path, fake.url, notify=notes.append)

    assert fake.ranges()[-1] == f"bytes={half}-"
    assert any("resuming" in n for n in notes)
    assert sha256(path) == hashlib.sha256(DATA).hexdigest()
    assert files_under(tmp_path) == ["someone__Tiny-GGUF/only.gguf"]


def test_part_of_another_version_is_not_reused(fake: FakeHub, tmp_path: Path) -> None:
    fake.add_file(REPO, "only.gguf", DATA)
    folder = tmp_path / "someone__Tiny-GGUF"
    folder.mkdir()
    (folder / "only.gguf.0123456789ab.part").write_bytes(b"old bytes")
    path = hub.pull(REPO, tmp_path, fake.url)
    assert fake.ranges() == [None]
    assert files_under(tmp_path) == ["someone__Tiny-GGUF/only.gguf"]
    assert sha256(path) == hashlib.sha256(DATA).hexdigest()


# -- failures --------------------------------------------------------------------------------


def test_checksum_mismatch_deletes_the_download(fake: FakeHub, tmp_path: Path) -> None:
    fake.add_file(REPO, "only.gguf", DATA)
    fake.corrupt(REPO, "only.gguf")
    with pytest.raises(DownloadError, match="checksum mismatch for someone/Tiny-GGUF/only.gguf"):
        hub.pull(REPO, tmp_path, fake.url)
    assert files_under(tmp_path) == []


def test_unknown_repo(fake: FakeHub, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="no model repository 'nobody/nothing' on http://"):
        hub.pull("nobody/nothing", tmp_path, fake.url)


def test_invalid_repo_id(fake: FakeHub, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="'a/b--c' is not a valid Hugging Face repository id"):
        hub.pull("a/b--c", tmp_path, fake.url)
    assert fake.requests == []


def test_unknown_file(fake: FakeHub, tmp_path: Path) -> None:
    fake.add_file(REPO, "only.gguf", DATA)
    with pytest.raises(DownloadError, match=r"has no file 'other.gguf' \(GGUF files: only.gguf\)"):
        hub.pull(f"{REPO}/other.gguf", tmp_path, fake.url)


def test_unreachable_hub(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    with pytest.raises(DownloadError) as caught:
        hub.pull(REPO, tmp_path, url)
    assert caught.value.message == f"cannot reach the Hugging Face Hub at {url}: are you offline?"


def test_offline_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(DownloadError, match="HF_HUB_OFFLINE"):
        hub.pull(REPO, tmp_path, "http://127.0.0.1:9")


def test_not_a_hub(tmp_path: Path) -> None:
    """An endpoint that answers HTTP but not the Hub's API."""
    pattern = r"^the Hub at http://\S+ answered HTTP 404 for"
    with FakeHub() as other, pytest.raises(DownloadError, match=pattern):
        hub.pull(REPO, tmp_path, other.cdn_url)
