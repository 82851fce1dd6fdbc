"""Accounts through real HTTP: a uvicorn server in a thread, the bundled model, and a real
database — SQLite and PostgreSQL. Sign-up, login, sessions and their cookie, CSRF, API keys
(with the official `openai` client), admin routes, the race for the first admin and the
login rate limit."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai import OpenAI

from tests.support.postgres import BACKENDS
from tests.support.web import PASSWORD, SERVER_KEY, Browser, LiveApp, live_app

MODEL = "smollm2-135m"
HELLO = [{"role": "user", "content": "Say hello."}]


# --- a live app ---------------------------------------------------------------------------


@pytest.fixture(scope="module", params=BACKENDS)
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveApp]:
    with live_app(str(request.param), tmp_path_factory.mktemp("live")) as app:
        yield app


# --- helpers ------------------------------------------------------------------------------


def unique(prefix: str) -> str:
    return f"{prefix}-{time.monotonic_ns()}@example.com"


def error_of(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()["error"]
    return body


@pytest.fixture(scope="module")
def admin(live: LiveApp) -> Browser:
    """The first account of the module's server: the administrator."""
    browser = Browser(live.url)
    status = browser.get("/api/auth/status").json()
    assert status == {"needs_setup": True, "signup_open": True}
    reply = browser.signup("root@example.com", name="Root")
    assert reply.status_code == 201, reply.text
    assert reply.json()["user"]["role"] == "admin"
    return browser


def new_user(live: LiveApp, admin: Browser, prefix: str = "user") -> Browser:
    browser = Browser(live.url)
    reply = browser.signup(unique(prefix))
    assert reply.status_code == 201, reply.text
    assert browser.user["role"] == "user"
    return browser


# --- sign-up, login, sessions -------------------------------------------------------------


def test_signup_login_me_logout(live: LiveApp, admin: Browser) -> None:
    assert admin.get("/api/auth/status").json() == {"needs_setup": False, "signup_open": True}
    email = unique("alice")
    alice = Browser(live.url)
    reply = alice.signup(email.upper(), name="Alice")
    assert reply.status_code == 201
    user = reply.json()["user"]
    assert user["email"] == email and user["role"] == "user" and user["name"] == "Alice"
    assert "password" not in reply.text and "argon2" not in reply.text
    me = alice.get("/api/auth/me")
    assert me.status_code == 200 and me.json()["user"]["id"] == user["id"]
    assert me.json()["csrf_token"] == alice.csrf

    assert alice.send("POST", "/api/auth/logout").status_code == 204
    assert alice.cookie is None
    assert alice.get("/api/auth/me").status_code == 401

    assert Browser(live.url).login(email, "wrong password").status_code == 401
    again = Browser(live.url)
    assert again.login(email).status_code == 200
    assert again.get("/api/auth/me").json()["user"]["email"] == email


def test_bad_signups(live: LiveApp, admin: Browser) -> None:
    browser = Browser(live.url)
    taken = browser.signup("root@example.com")
    assert taken.status_code == 409 and error_of(taken)["param"] == "email"
    short = browser.signup(unique("short"), password="short")
    assert short.status_code == 400 and error_of(short)["param"] == "password"
    assert browser.signup("not-an-email").status_code == 400


def test_session_cookie_flags(live: LiveApp, admin: Browser) -> None:
    reply = Browser(live.url).signup(unique("cookie"))
    raw = reply.headers["set-cookie"]
    assert raw.startswith("causerie_session=")
    flags = [part.strip().lower() for part in raw.split(";")]
    assert "httponly" in flags and "samesite=lax" in flags and "path=/" in flags
    assert "secure" not in flags  # plain http; https requests get Secure
    token = raw.split(";")[0].split("=", 1)[1]
    assert token not in reply.text  # only in the cookie


def test_login_rotates_the_session(live: LiveApp, admin: Browser) -> None:
    email = unique("rotate")
    browser = Browser(live.url)
    browser.signup(email)
    old = browser.cookie
    assert old and browser.login(email).status_code == 200
    assert browser.cookie and browser.cookie != old
    stale = httpx.get(live.url + "/api/auth/me", cookies={"causerie_session": old})
    assert stale.status_code == 401
    assert browser.get("/api/auth/me").status_code == 200


def test_password_change_ends_every_session(live: LiveApp, admin: Browser) -> None:
    email = unique("pw")
    laptop, phone = Browser(live.url), Browser(live.url)
    laptop.signup(email)
    phone.login(email)
    wrong = laptop.send(
        "POST",
        "/api/auth/password",
        json={"current_password": "nope-nope", "new_password": "x" * 12},
    )
    assert wrong.status_code == 400 and error_of(wrong)["param"] == "current_password"
    changed = laptop.send(
        "POST", "/api/auth/password", json={"current_password": PASSWORD, "new_password": "n" * 12}
    )
    assert changed.status_code == 200
    assert laptop.get("/api/auth/me").status_code == 200  # this browser got a new session
    assert phone.get("/api/auth/me").status_code == 401
    assert Browser(live.url).login(email).status_code == 401
    assert Browser(live.url).login(email, "n" * 12).status_code == 200


def test_csrf_needed_for_cookie_state_changes(live: LiveApp, admin: Browser) -> None:
    browser = new_user(live, admin, "csrf")
    refused = browser.send("POST", "/api/keys", csrf=False, json={"name": "x"})
    assert refused.status_code == 403 and error_of(refused)["code"] == "csrf_failed"
    forged = browser.http.post("/api/keys", json={"name": "x"}, headers={"X-CSRF-Token": "forged"})
    assert forged.status_code == 403
    assert browser.get("/api/keys").status_code == 200  # reads need no token
    made = browser.send("POST", "/api/keys", json={"name": "ok"})
    assert made.status_code == 201
    # a Bearer key needs no CSRF token, even with a session cookie around
    bearer = {"Authorization": f"Bearer {made.json()['key']}"}
    assert browser.http.post("/api/keys", json={"name": "b"}, headers=bearer).status_code == 201
    assert browser.send("POST", "/api/auth/logout", csrf=False).status_code == 403


# --- API keys -----------------------------------------------------------------------------


def test_api_key_lifecycle_with_the_openai_client(live: LiveApp, admin: Browser) -> None:
    browser = new_user(live, admin, "keys")
    made = browser.send("POST", "/api/keys", json={"name": "laptop"})
    assert made.status_code == 201
    secret = made.json()["key"]
    assert secret.startswith("csk-") and secret.startswith(made.json()["prefix"])
    listed = browser.get("/api/keys").json()["data"]
    assert [k["name"] for k in listed] == ["laptop"]
    assert secret not in browser.get("/api/keys").text  # shown once, never again

    client = OpenAI(base_url=live.v1, api_key=secret, max_retries=0, timeout=120)
    reply = client.chat.completions.create(model=MODEL, messages=HELLO, max_tokens=5)  # type: ignore[arg-type]
    assert reply.choices[0].message.content is not None
    me = httpx.get(live.url + "/api/auth/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.json()["user"]["id"] == browser.user["id"] and me.json()["csrf_token"] is None
    assert browser.get("/api/keys").json()["data"][0]["last_used_at"] is not None

    other = new_user(live, admin, "other")
    assert other.send("DELETE", f"/api/keys/{made.json()['id']}").status_code == 404
    assert browser.send("DELETE", f"/api/keys/{made.json()['id']}").status_code == 204
    assert browser.get("/api/keys").json()["data"] == []
    with pytest.raises(openai.AuthenticationError):
        client.models.list()


def test_v1_needs_a_credential(live: LiveApp, admin: Browser) -> None:
    assert httpx.get(live.v1 + "/models").status_code == 401
    bad = httpx.get(live.v1 + "/models", headers={"Authorization": "Bearer csk-nope"})
    assert bad.status_code == 401 and error_of(bad)["code"] == "invalid_api_key"
    assert admin.get("/v1/models").status_code == 200  # the web app's cookie works too
    server = OpenAI(base_url=live.v1, api_key=SERVER_KEY, max_retries=0)
    assert [m.id for m in server.models.list().data] == [MODEL]
    # the server-wide key acts as no particular user: /api user routes refuse it
    as_server = {"Authorization": f"Bearer {SERVER_KEY}"}
    assert httpx.get(live.url + "/api/auth/me", headers=as_server).status_code == 401
    assert httpx.get(live.url + "/api/admin/users", headers=as_server).status_code == 401
    assert httpx.get(live.url + "/metrics", headers=as_server).status_code == 200
    assert httpx.get(live.url + "/metrics").status_code == 401
    assert httpx.get(live.url + "/health").status_code == 200


# --- administration -----------------------------------------------------------------------


def test_non_admin_gets_403(live: LiveApp, admin: Browser) -> None:
    user = new_user(live, admin, "plain")
    assert user.get("/api/admin/users").status_code == 403
    assert user.get("/api/admin/usage").status_code == 403
    assert user.send("PATCH", "/api/admin/settings", json={"signup_open": False}).status_code == 403
    assert httpx.get(live.url + "/api/admin/users").status_code == 401


def test_admin_creates_lists_disables_and_promotes(live: LiveApp, admin: Browser) -> None:
    email = unique("made")
    made = admin.send(
        "POST", "/api/admin/users", json={"email": email, "password": PASSWORD, "name": "Made"}
    )
    assert made.status_code == 201 and made.json()["role"] == "user"
    uid = made.json()["id"]
    listed = admin.get("/api/admin/users").json()
    assert email in [u["email"] for u in listed["data"]] and listed["total"] >= 2
    assert all("password" not in str(u) for u in listed["data"])

    worker = Browser(live.url)
    assert worker.login(email).status_code == 200
    key = worker.send("POST", "/api/keys", json={}).json()["key"]
    promoted = admin.send("PATCH", f"/api/admin/users/{uid}", json={"role": "admin"})
    assert promoted.json()["role"] == "admin"
    assert worker.get("/api/admin/users").status_code == 200

    disabled = admin.send("PATCH", f"/api/admin/users/{uid}", json={"is_active": False})
    assert disabled.status_code == 200 and disabled.json()["is_active"] is False
    assert worker.get("/api/auth/me").status_code == 401  # the session ended
    refused = Browser(live.url).login(email)
    assert refused.status_code == 403 and error_of(refused)["code"] == "account_disabled"
    assert (
        httpx.get(live.v1 + "/models", headers={"Authorization": f"Bearer {key}"}).status_code
        == 401
    )
    enabled = admin.send(
        "PATCH", f"/api/admin/users/{uid}", json={"is_active": True, "role": "user"}
    )
    assert enabled.json()["is_active"] is True
    assert Browser(live.url).login(email).status_code == 200
    missing = admin.send("PATCH", "/api/admin/users/nope", json={"is_active": False})
    assert missing.status_code == 404


def test_the_last_admin_stays(live: LiveApp, admin: Browser) -> None:
    users = admin.get("/api/admin/users").json()["data"]
    admins = [u for u in users if u["role"] == "admin" and u["is_active"]]
    assert len(admins) == 1
    demote = admin.send("PATCH", f"/api/admin/users/{admins[0]['id']}", json={"role": "user"})
    assert demote.status_code == 409


def test_signup_can_be_closed(live: LiveApp, admin: Browser) -> None:
    closed = admin.send("PATCH", "/api/admin/settings", json={"signup_open": False})
    assert closed.json() == {"signup_open": False}
    try:
        assert admin.get("/api/auth/status").json() == {"needs_setup": False, "signup_open": False}
        refused = Browser(live.url).signup(unique("late"))
        assert refused.status_code == 403 and error_of(refused)["code"] == "signup_closed"
        made = admin.send(
            "POST", "/api/admin/users", json={"email": unique("invited"), "password": PASSWORD}
        )
        assert made.status_code == 201  # the admin still can
    finally:
        admin.send("PATCH", "/api/admin/settings", json={"signup_open": True})
    assert admin.get("/api/admin/settings").json() == {"signup_open": True}


def test_failed_logins_are_rate_limited(live: LiveApp, admin: Browser) -> None:
    email = unique("guess")
    Browser(live.url).signup(email)
    for _ in range(5):
        assert Browser(live.url).login(email, "wrong-password").status_code == 401
    blocked = Browser(live.url).login(email)  # even the right password waits
    assert blocked.status_code == 429 and error_of(blocked)["type"] == "rate_limit_error"
    assert 0 < int(blocked.headers["retry-after"]) <= 900


# --- the first admin ----------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_concurrent_first_signups_make_exactly_one_admin(backend: str, tmp_path: Path) -> None:
    with live_app(backend, tmp_path) as app:

        def sign_up(i: int) -> httpx.Response:
            return Browser(app.url).signup(f"racer{i}@example.com")

        with ThreadPoolExecutor(max_workers=12) as pool:
            replies = list(pool.map(sign_up, range(12)))
        assert [r.status_code for r in replies] == [201] * 12
        roles = [r.json()["user"]["role"] for r in replies]
        assert roles.count("admin") == 1 and roles.count("user") == 11
        admin = Browser(app.url)
        winner = replies[roles.index("admin")].json()["user"]["email"]
        assert admin.login(winner).status_code == 200
        listed = admin.get("/api/admin/users").json()
        assert listed["total"] == 12
        assert sum(u["role"] == "admin" for u in listed["data"]) == 1
