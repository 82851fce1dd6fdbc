"""Per-user limits and the usage ledger through real HTTP on the bundled model, on SQLite
and PostgreSQL: 429 with Retry-After past a user's requests per minute or tokens per day,
and the admin's ledger adds up to the usage the API returned."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import openai
import pytest
from openai import OpenAI

from tests.api.test_auth import (
    BACKENDS,
    HELLO,
    MODEL,
    SERVER_KEY,
    Browser,
    LiveApp,
    live_app,
    unique,
)


@pytest.fixture(scope="module", params=BACKENDS)
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveApp]:
    with live_app(str(request.param), tmp_path_factory.mktemp("quotas")) as app:
        yield app


@pytest.fixture(scope="module")
def admin(live: LiveApp) -> Browser:
    browser = Browser(live.url)
    assert browser.signup("boss@example.com").json()["user"]["role"] == "admin"
    return browser


def user_with_limits(live: LiveApp, admin: Browser, **limits: int) -> tuple[Browser, OpenAI]:
    """A new user with these limits, and an openai client on their own API key."""
    browser = Browser(live.url)
    assert browser.signup(unique("quota")).status_code == 201
    changed = admin.send("PATCH", f"/api/admin/users/{browser.user['id']}", json=limits)
    assert changed.status_code == 200, changed.text
    key = browser.send("POST", "/api/keys", json={"name": "test"}).json()["key"]
    return browser, OpenAI(base_url=live.v1, api_key=key, max_retries=0, timeout=120)


def ask(client: OpenAI, max_tokens: int = 4) -> openai.types.chat.ChatCompletion:
    return client.chat.completions.create(model=MODEL, messages=HELLO, max_tokens=max_tokens)  # type: ignore[arg-type]


def test_requests_per_minute(live: LiveApp, admin: Browser) -> None:
    _, client = user_with_limits(live, admin, requests_per_minute=2)
    if time.time() % 60 > 40:  # the windows are whole minutes: start in a fresh one
        time.sleep(61 - time.time() % 60)
    ask(client)
    client.completions.create(model=MODEL, prompt="Hi", max_tokens=2)
    with pytest.raises(openai.RateLimitError) as info:
        ask(client)
    retry_after = int(info.value.response.headers["retry-after"])
    assert 1 <= retry_after <= 60
    body = info.value.body
    assert isinstance(body, dict) and body["code"] == "requests_per_minute_exceeded"
    assert client.models.list().data  # listing models is not a generation
    # the limit is the user's: another user and the server key are not held back
    _, other = user_with_limits(live, admin, requests_per_minute=5)
    ask(other)
    ask(OpenAI(base_url=live.v1, api_key=SERVER_KEY, max_retries=0))


def test_tokens_per_day(live: LiveApp, admin: Browser) -> None:
    _, client = user_with_limits(live, admin, tokens_per_day=10)
    first = ask(client, max_tokens=8)  # under the quota when it starts: it is served
    assert first.usage is not None and first.usage.total_tokens >= 10
    with pytest.raises(openai.RateLimitError) as info:
        ask(client)
    now = datetime.now(UTC)
    to_midnight = 86400 - (now.hour * 3600 + now.minute * 60 + now.second)
    assert abs(int(info.value.response.headers["retry-after"]) - to_midnight) <= 5
    body = info.value.body
    assert isinstance(body, dict) and body["code"] == "tokens_per_day_exceeded"


def test_usage_ledger_matches_the_api(live: LiveApp, admin: Browser) -> None:
    browser, client = user_with_limits(live, admin)
    usages = [ask(client, max_tokens=6).usage]
    stream = client.chat.completions.create(
        model=MODEL, messages=HELLO, max_tokens=5, stream=True,  # type: ignore[arg-type]
        stream_options={"include_usage": True},
    )  # fmt: skip
    usages.append(list(stream)[-1].usage)
    usages.append(client.completions.create(model=MODEL, prompt="Once", max_tokens=7).usage)
    text_stream = client.completions.create(
        model=MODEL, prompt="The sky is", max_tokens=3, stream=True,
        stream_options={"include_usage": True},
    )  # fmt: skip
    usages.append(list(text_stream)[-1].usage)
    prompt = sum(u.prompt_tokens for u in usages if u is not None)
    completion = sum(u.completion_tokens for u in usages if u is not None)
    assert None not in usages and completion > 4
    # the server-wide key is no user: it is not in the ledger
    ask(OpenAI(base_url=live.v1, api_key=SERVER_KEY, max_retries=0))

    report = admin.get("/api/admin/usage", params={"days": 1})
    assert report.status_code == 200
    today = datetime.now(UTC).date().isoformat()
    assert report.json()["since"] == today
    rows = [r for r in report.json()["data"] if r["user_id"] == browser.user["id"]]
    assert len(rows) == 1
    row = rows[0]
    assert (row["model"], row["day"], row["email"]) == (MODEL, today, browser.user["email"])
    assert row["requests"] == 4
    assert (row["prompt_tokens"], row["completion_tokens"]) == (prompt, completion)
    assert row["total_tokens"] == prompt + completion
    just_one = admin.get("/api/admin/usage", params={"user_id": browser.user["id"]}).json()
    assert [r["user_id"] for r in just_one["data"]] == [browser.user["id"]]


def test_web_session_requests_are_metered_too(live: LiveApp, admin: Browser) -> None:
    browser, _ = user_with_limits(live, admin, requests_per_minute=1)
    body = {"model": MODEL, "messages": HELLO, "max_tokens": 3}
    assert browser.send("POST", "/v1/chat/completions", json=body).status_code == 200
    refused = browser.send("POST", "/v1/chat/completions", json=body)
    assert refused.status_code == 429 and "retry-after" in refused.headers
    assert httpx.get(live.url + "/api/admin/usage").status_code == 401
