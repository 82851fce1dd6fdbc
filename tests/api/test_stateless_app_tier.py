"""The stateless app tier: two `causerie serve` app processes on one PostgreSQL, routing to
two engine replicas (two more `causerie serve` processes with the bundled model) listed as
remote in a models config, all on loopback.

Shows: a session made on app 1 works on app 2; a per-user rate limit is counted across
both; a conversation continued on either app returns to the replica holding its KV cache;
under concurrent chats, SIGKILL of one engine replica affects only the answers in
flight on it (they end with an error event and are stored `interrupted`, text kept), the
others complete, and every later request succeeds through the surviving replica.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import openai
import pytest
from openai import OpenAI

from tests.conftest import Server, start_server, stop_server
from tests.support.postgres import migrate_url, require_cluster
from tests.support.web import Browser

pytestmark = pytest.mark.slow

MODEL = "smollm2-135m"
UPSTREAM_KEY = "k-upstream"
APP_KEY = "k-app"


@dataclass
class Tier:
    engines: list[Server]
    apps: list[Server]
    db_url: str


@pytest.fixture(scope="module")
def tier(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tier]:
    cluster = require_cluster()
    name = cluster.create_database()
    db_url = cluster.url(name)
    migrate_url(db_url)  # once, before two processes race to do it
    root = tmp_path_factory.mktemp("tier")
    started: list[Server] = []
    try:
        for i in range(2):
            args = ["--ctx-size", "1024", "--parallel", "2", "--threads", "1"]
            started.append(start_server(root / f"engine{i}", *args, api_key=UPSTREAM_KEY))
        engines = list(started)
        replicas = ",\n".join(
            f'  {{ engine = "remote", url = "{e.v1}", model = "{MODEL}", '
            f'api_key_env = "TIER_UPSTREAM_KEY", read_timeout = 60 }}'
            for e in engines
        )
        config = root / "models.toml"
        config.write_text(
            f'[router]\nhealth_interval = 1\n\n[[models]]\nid = "{MODEL}"\n'
            f"replicas = [\n{replicas}\n]\n"
        )
        env = {"TIER_UPSTREAM_KEY": UPSTREAM_KEY}
        apps = []
        for i in range(2):
            app = start_server(
                root / f"app{i}", "--database-url", db_url, "--models-config", str(config),
                api_key=APP_KEY, env=env,
            )  # fmt: skip
            started.append(app)
            apps.append(app)
        yield Tier(engines, apps, db_url)
    finally:
        for server in started:
            stop_server(server)
        cluster.drop_database(name)


def on(app: Server, browser: Browser) -> Browser:
    """The same signed-in user (cookie and CSRF token) on another app process."""
    other = Browser(app.url)
    other.http.cookies = browser.http.cookies
    other.csrf, other.user = browser.csrf, browser.user
    return other


def new_conversation(b: Browser, max_tokens: int) -> str:
    body = {"title": "t", "params": {"max_tokens": max_tokens, "temperature": 0.8}}
    r = b.send("POST", "/api/conversations", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


@dataclass
class Chat:
    browser: Browser
    conv: str
    content: str
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    failure: str | None = None

    def run(self) -> None:
        try:
            with self.browser.http.stream(
                "POST", f"/api/conversations/{self.conv}/messages",
                json={"content": self.content}, headers={"X-CSRF-Token": self.browser.csrf or ""},
            ) as r:  # fmt: skip
                if r.status_code != 200:
                    self.failure = f"HTTP {r.status_code}: {r.read()!r}"
                    return
                kind = "message"
                for line in r.iter_lines():
                    if line.startswith("event: "):
                        kind = line[7:]
                    elif line.startswith("data: "):
                        self.events.append((kind, json.loads(line[6:])))
        except httpx.HTTPError as exc:
            self.failure = repr(exc)

    @property
    def last(self) -> tuple[str, dict[str, Any]]:
        return self.events[-1] if self.events else ("none", {})


def running(engine: Server) -> int:
    return int(httpx.get(engine.url + "/health", timeout=5).json()["running"])


def test_sessions_and_rate_limits_are_shared(tier: Tier) -> None:
    a1, a2 = tier.apps
    admin = Browser(a1.url)
    assert admin.signup(f"admin-{time.monotonic_ns()}@example.org").status_code == 201
    elsewhere = on(a2, admin)
    me = elsewhere.get("/api/auth/me")
    assert me.status_code == 200 and me.json()["user"]["id"] == admin.user["id"]
    assert elsewhere.send("POST", "/api/conversations", json={"title": "x"}).status_code == 201

    limited = Browser(a2.url)
    assert limited.signup(f"limited-{time.monotonic_ns()}@example.org").status_code == 201
    patch = elsewhere.send(
        "PATCH", f"/api/admin/users/{limited.user['id']}", json={"requests_per_minute": 3}
    )
    assert patch.status_code == 200, patch.text
    key = limited.send("POST", "/api/keys", json={"name": "k"}).json()["key"]
    clients = [OpenAI(base_url=a.v1, api_key=key, max_retries=0, timeout=60) for a in tier.apps]
    if time.time() % 60 > 50:  # the windows are whole minutes: start in a fresh one
        time.sleep(61 - time.time() % 60)
    hello = [{"role": "user", "content": "Hi"}]
    for client in (clients[0], clients[1], clients[0]):
        client.chat.completions.create(model=MODEL, messages=hello, max_tokens=2)  # type: ignore[arg-type]
    with pytest.raises(openai.RateLimitError):
        clients[1].chat.completions.create(model=MODEL, messages=hello, max_tokens=2)  # type: ignore[arg-type]


def test_a_conversation_returns_to_its_replica_from_either_app(tier: Tier) -> None:
    """Both apps route a conversation to the same replica, whose KV cache then serves the
    whole earlier prompt (reported as cached tokens)."""
    clients = [OpenAI(base_url=a.v1, api_key=APP_KEY, max_retries=0, timeout=60) for a in tier.apps]
    for start in range(3):  # a few conversations, whatever replica each hashes to
        messages: list[dict[str, str]] = [
            {"role": "system", "content": f"You are assistant number {start}."},
            {"role": "user", "content": "Name a colour."},
        ]
        for turn in range(3):
            client = clients[(start + turn) % 2]  # alternate between the app processes
            answer = client.chat.completions.create(
                model=MODEL,
                messages=messages,
                max_tokens=8,
                temperature=0,  # type: ignore[arg-type]
            )
            usage = answer.usage
            assert usage is not None
            if turn:
                cached = usage.prompt_tokens_details.cached_tokens  # type: ignore[union-attr]
                assert cached and cached >= usage.prompt_tokens // 2, (start, turn, usage)
            messages += [
                {"role": "assistant", "content": answer.choices[0].message.content or ""},
                {"role": "user", "content": "And another one?"},
            ]


def test_killing_an_engine_replica_affects_only_its_answers_in_flight(tier: Tier) -> None:
    a1, a2 = tier.apps
    user = Browser(a1.url)
    assert user.signup(f"load-{time.monotonic_ns()}@example.org").status_code == 201
    browsers = [user, on(a2, user)]
    for app in tier.apps:  # every app lists the routed model
        models = OpenAI(base_url=app.v1, api_key=APP_KEY).models.list()
        assert [m.id for m in models.data] == [MODEL]

    story = "Write a very long story about a lighthouse keeper and the sea, in ten chapters."
    # conversations go to the replica their id hashes to: with ten, the chance that none
    # goes to the replica killed below (or none to the other) is 2 in 1024 (with six it
    # was 2 in 64, and it happened)
    chats = [
        Chat(browsers[i % 2], new_conversation(browsers[i % 2], 200), story) for i in range(10)
    ]
    threads = [threading.Thread(target=c.run) for c in chats]
    for t in threads:
        t.start()
    victim, survivor = tier.engines
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if running(victim) >= 1 and sum(1 for c in chats if len(c.events) > 3) >= 2:
            break
        time.sleep(0.05)
    assert running(victim) >= 1, "no answer was in flight on the replica to kill"
    time.sleep(0.6)  # some progress of every running answer is saved
    os.kill(victim.process.pid, signal.SIGKILL)
    victim.process.wait(10)
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads)

    assert all(c.failure is None for c in chats), [c.failure for c in chats]
    failed = [c for c in chats if c.last[0] == "error"]
    completed = [c for c in chats if c.last[0] == "done"]
    assert len(failed) + len(completed) == len(chats)
    assert failed, "the killed replica's answers in flight should have failed"
    assert completed, "the surviving replica's answers should be unaffected"
    for c in failed:
        data = c.last[1]
        assert data["status"] == "interrupted"
        assert "model server" in data["error"] and "failed" in data["error"]
        assert any(k == "delta" for k, _ in c.events)  # it was answering, then it broke
    for c in completed:
        assert c.last[1]["status"] == "complete"

    # what is stored agrees, seen from the other app process
    for c in chats:
        reader = browsers[1] if c.browser is browsers[0] else browsers[0]
        stored = reader.get(f"/api/conversations/{c.conv}").json()["messages"][-1]
        assert stored["status"] == c.last[1]["status"]
        if stored["status"] == "interrupted":
            assert stored["content"] and stored["error"]

    # every later request succeeds, on both apps, native and /v1
    later = [
        Chat(browsers[i % 2], new_conversation(browsers[i % 2], 8), "Say hi.") for i in range(4)
    ]
    for c in later:
        c.run()
        assert c.failure is None and c.last[0] == "done", (c.failure, c.last)
    for app in tier.apps:
        client = OpenAI(base_url=app.v1, api_key=APP_KEY, max_retries=0, timeout=60)
        answer = client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "Hello"}], max_tokens=3
        )
        assert answer.choices[0].finish_reason in ("stop", "length")
    assert running(survivor) == 0
