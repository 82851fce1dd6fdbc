"""`causerie cluster serve` for real: a local Ray cluster on this machine, CPU replicas of
the bundled model behind Ray Serve's HTTP proxy, autoscaled from one to two on queue length
under load from the official `openai` client, greedy answers equal to the single-process
server's, the turns of a session kept on one replica (`--session-affinity`), a client that
leaves freeing its slot, `cluster status`, then a clean stop that leaves no Ray process
behind.

The tests share one cluster and run in file order (scale up, use both, stop)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import openai
import pytest

from tests.conftest import API_KEY, CAUSERIE, free_port, start_server, stop_server

pytestmark = pytest.mark.slow
ENGINE_FLAGS = ("--ctx-size", "1024", "--parallel", "2", "--threads", "1")
PROMPT = [{"role": "user", "content": "Name three colours of the rainbow."}]
MAX_TOKENS = 24


def _env() -> dict[str, str]:
    """Hermetic Ray: our own auth token (no ~/.ray file), no usage stats, and an absolute
    PYTHONPATH so that the replicas import this checkout wherever Ray starts them."""
    path = os.pathsep.join(
        str(Path(p).resolve()) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p
    )
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "RAY_USAGE_STATS_ENABLED": "0"}
    env["RAY_AUTH_TOKEN"] = uuid.uuid4().hex
    # queue lengths reach the autoscaler every 2 s rather than 10 s: a shorter test
    env["RAY_SERVE_HANDLE_AUTOSCALING_METRIC_PUSH_INTERVAL_S"] = "2"
    env["RAY_SERVE_REPLICA_AUTOSCALING_METRIC_PUSH_INTERVAL_S"] = "2"
    env.pop("RAY_ADDRESS", None)
    if path:
        env["PYTHONPATH"] = path
    return env


def _process_tree(root: int) -> dict[int, str]:
    """pid -> start time of `root` and all its descendants (start times tell reused pids)."""
    children: dict[int, list[int]] = {}
    started: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        children.setdefault(int(fields[1]), []).append(pid)
        started[pid] = fields[19]
    tree, todo = {}, [root]
    while todo:
        pid = todo.pop()
        if pid in started:
            tree[pid] = started[pid]
        todo.extend(children.get(pid, []))
    return tree


def _alive(tree: dict[int, str]) -> list[int]:
    alive = []
    for pid, start in tree.items():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[19] == start and fields[0] != "Z":
            alive.append(pid)
    return alive


def _stop(proc: subprocess.Popen[str], tree: dict[int, str]) -> None:
    """SIGTERM (a clean stop), then SIGKILL whatever of the process tree is left."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for pid in _alive({**tree, **_process_tree(proc.pid)}):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


@dataclass
class RayCluster:
    url: str
    address: str
    process: subprocess.Popen[str]
    env: dict[str, str]
    output: list[str]


@pytest.fixture(scope="module")
def greedy_reference(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The single-process server's greedy answer, with the replicas' engine settings."""
    server = start_server(tmp_path_factory.mktemp("single"), *ENGINE_FLAGS, api_key=API_KEY)
    try:
        client = openai.OpenAI(base_url=server.v1, api_key=API_KEY, max_retries=0)
        answer = client.chat.completions.create(
            model="smollm2-135m",
            messages=PROMPT,
            max_tokens=MAX_TOKENS,
            temperature=0,
        )
    finally:
        stop_server(server)
    content = answer.choices[0].message.content
    assert content
    return content


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RayCluster]:
    temp_dir = tempfile.mkdtemp(prefix="cr-", dir="/tmp")  # Ray's socket paths must be short
    port = free_port()
    env = _env()
    cmd = [
        CAUSERIE, "cluster", "serve", "--address", "local", "--num-cpus", "2",
        "--temp-dir", temp_dir, "--port", str(port), "--min-replicas", "1",
        "--max-replicas", "2", "--target-ongoing-requests", "1", "--upscale-delay-s", "0",
        "--session-affinity",
        *ENGINE_FLAGS, "--api-key", API_KEY,
        "--data-dir", str(tmp_path_factory.mktemp("cluster")),
    ]  # fmt: skip
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    assert proc.stdout is not None
    output: list[str] = []
    ready = re.compile(r"Causerie cluster is ready at (http://\S+)")
    deadline = time.monotonic() + 100
    url = None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        output.append(line)
        found = ready.search(line)
        if found:
            url = found.group(1)
            break
    if url is None:
        _stop(proc, _process_tree(proc.pid))
        shutil.rmtree(temp_dir, ignore_errors=True)
        pytest.fail("the local Ray cluster or its replicas did not start:\n" + "".join(output))
    threading.Thread(target=lambda: output.extend(proc.stdout), daemon=True).start()
    address = re.search(r"Ray cluster at (\S+)", "".join(output))
    assert address, output
    tree = _process_tree(proc.pid)
    yield RayCluster(url, address.group(1), proc, env, output)
    _stop(proc, tree)  # a no-op after the clean-stop test; a safety net after a failure
    shutil.rmtree(temp_dir, ignore_errors=True)


def _ask(
    client: openai.OpenAI, max_tokens: int = MAX_TOKENS, session: str | None = None
) -> tuple[str, str]:
    raw = client.chat.completions.with_raw_response.create(
        model="smollm2-135m", messages=PROMPT, max_tokens=max_tokens, temperature=0,
        extra_headers={"x-session-id": session} if session else None,
    )  # fmt: skip
    content = raw.parse().choices[0].message.content
    assert content
    return raw.headers["x-causerie-replica"], content


def test_a_queue_adds_a_replica(cluster: RayCluster) -> None:
    assert "1 replicas running" in "".join(cluster.output)
    client = openai.OpenAI(base_url=cluster.url + "/v1", api_key=API_KEY, max_retries=0)
    seen: set[str] = set()
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            seen.add(_ask(client, max_tokens=64)[0])

    with ThreadPoolExecutor(4) as pool:  # 4 waiting requests per replica, target 1: scale up
        workers = [pool.submit(load) for _ in range(4)]
        deadline = time.monotonic() + 60
        while len(seen) < 2 and time.monotonic() < deadline and not any(w.done() for w in workers):
            time.sleep(0.5)
        stop.set()
        for worker in workers:
            worker.result()  # a failed request fails the test here
    assert len(seen) == 2, f"no second replica after 60 s of queued requests: {seen}"


def test_two_replicas_serve_openai_clients_like_one_server(
    cluster: RayCluster, greedy_reference: str
) -> None:
    client = openai.OpenAI(base_url=cluster.url + "/v1", api_key=API_KEY, max_retries=0)
    with ThreadPoolExecutor(8) as pool:
        burst = list(pool.map(lambda _: _ask(client), range(12)))
    assert len({replica for replica, _ in burst}) == 2, burst  # both replicas took requests
    # One request at a time, until each replica has answered alone: greedy = the server's.
    alone: dict[str, str] = {}
    for _ in range(16):
        replica, content = _ask(client)
        alone.setdefault(replica, content)
        if len(alone) == 2:
            break
    assert len(alone) == 2, alone
    assert all(content == greedy_reference for content in alone.values()), (alone, greedy_reference)
    stream = client.chat.completions.create(
        model="smollm2-135m",
        messages=PROMPT,
        max_tokens=MAX_TOKENS,
        temperature=0,
        stream=True,
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    intruder = openai.OpenAI(base_url=cluster.url + "/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        intruder.models.list()


def test_the_turns_of_a_session_stay_on_one_replica(cluster: RayCluster) -> None:
    client = openai.OpenAI(base_url=cluster.url + "/v1", api_key=API_KEY, max_retries=0)
    for session in ("conv-a", "conv-b", "conv-c", "conv-d"):
        replicas = {_ask(client, max_tokens=4, session=session)[0] for _ in range(4)}
        assert len(replicas) == 1, (session, replicas)


def test_a_client_that_leaves_frees_its_slot_behind_the_proxy(cluster: RayCluster) -> None:
    body = {"model": "smollm2-135m", "messages": PROMPT, "max_tokens": 900, "ignore_eos": True,
            "stream": True}  # fmt: skip
    auth = {"Authorization": f"Bearer {API_KEY}"}
    with httpx.Client(base_url=cluster.url, headers=auth, timeout=30) as http:
        with http.stream("POST", "/v1/chat/completions", json=body) as response:
            assert response.status_code == 200
            replica = response.headers["x-causerie-replica"]
            frames = response.iter_lines()
            assert sum(1 for line, _ in zip(frames, range(6), strict=False) if line) >= 3
        # the stream is closed: within a few steps its replica runs nothing any more
        deadline, running = time.monotonic() + 15, None
        while time.monotonic() < deadline:
            health = http.get("/health")
            if health.headers["x-causerie-replica"] == replica:
                running = health.json()["running"]
                if running == 0:
                    break
            time.sleep(0.2)
        assert running == 0, f"{replica} still decodes the abandoned answer"


def test_status_then_a_clean_stop(cluster: RayCluster) -> None:
    status = subprocess.run(
        [CAUSERIE, "cluster", "status", "--address", cluster.address],
        capture_output=True, text=True, timeout=90, env=cluster.env,
    )  # fmt: skip
    assert status.returncode == 0, status.stdout + status.stderr
    assert re.search(r"causerie\s+running\s+CauserieEngine\s+healthy\s+replicas: 2 running",
                     status.stdout), status.stdout  # fmt: skip
    missing = subprocess.run(
        [CAUSERIE, "cluster", "status", "--address", cluster.address, "--name", "nope"],
        capture_output=True, text=True, timeout=90, env=cluster.env,
    )  # fmt: skip
    assert missing.returncode == 1 and "no application 'nope'" in missing.stderr

    tree = _process_tree(cluster.process.pid)
    assert len(tree) >= 5, tree  # gcs, raylet, the Serve controller and proxy, two replicas
    cluster.process.send_signal(signal.SIGTERM)
    assert cluster.process.wait(timeout=60) == 0, "".join(cluster.output)
    deadline = time.monotonic() + 20
    while _alive(tree) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _alive(tree), f"Ray processes left behind: {_alive(tree)}"
    assert "Stopped." in "".join(cluster.output)


def _cmdlines_with(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if text in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(entry.name))
    return found


def test_a_model_no_replica_can_load_fails_in_one_line(tmp_path: Path) -> None:
    temp_dir = tempfile.mkdtemp(prefix="cr-", dir="/tmp")
    try:
        result = subprocess.run(
            [CAUSERIE, "cluster", "serve", "--address", "local", "--num-cpus", "1",
             "--temp-dir", temp_dir, "--port", str(free_port()), "--model", "no-such-model",
             "--threads", "1", "--data-dir", str(tmp_path)],
            capture_output=True, text=True, timeout=110, env=_env(),
        )  # fmt: skip
        assert result.returncode == 1, result.stdout + result.stderr
        last = result.stderr.strip().splitlines()[-1]
        assert last.startswith("causerie: error: the Ray Serve deployment failed:"), last
        assert "unknown model 'no-such-model'" in last
        assert "Traceback" not in result.stdout + result.stderr
        time.sleep(1)
        assert not _cmdlines_with(temp_dir), "Ray processes left behind"
    finally:
        shutil.rmtree(temp_dir, ignore_errors=True)
