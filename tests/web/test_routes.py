"""What the server sends for the UI: the pages, the assets and the security headers, with
a scripted engine (the browser tests use the real model)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from causerie.api.app import create_app
from causerie.api.metrics import Metrics
from causerie.core.settings import Settings
from causerie.store.db import Database
from causerie.web.headers import CONTENT_SECURITY_POLICY
from tests.support.fake_engine import ScriptedEngine


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path)
    app = create_app(settings, ScriptedEngine(), Metrics(), Database(f"sqlite:///{tmp_path}/c.db"))
    with TestClient(app) as test_client:
        yield test_client


def test_the_policy_is_strict() -> None:
    directives = dict(d.split(" ", 1) for d in CONTENT_SECURITY_POLICY.split("; "))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["img-src"] == "'self' data:"
    assert directives["connect-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in CONTENT_SECURITY_POLICY


@pytest.mark.parametrize("path", ["/", "/c/0123abcd", "/admin", "/login", "/signup", "/setup"])
def test_app_pages_answer_the_index_with_the_policy(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-cache"
    assert '<script type="module" src="/static/js/main.js">' in response.text


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/static/js/main.js", "text/javascript"),
        ("/static/vendor/purify.es.js", "text/javascript"),
        ("/static/vendor/marked.esm.js", "text/javascript"),
        ("/static/css/base.css", "text/css"),
        ("/static/i18n/fr.json", "application/json"),
    ],
)
def test_assets_are_served_with_their_type_and_the_policy(
    client: TestClient, path: str, kind: str
) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(kind)
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["cache-control"] == "no-cache"
    again = client.get(path, headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304


def test_nothing_outside_static_is_served(client: TestClient) -> None:
    assert client.get("/static/../routes.py").status_code == 404
    assert client.get("/static/%2e%2e/routes.py").status_code == 404
    assert client.get("/static/nope.js").status_code == 404


def test_api_answers_carry_nosniff(client: TestClient) -> None:
    response = client.get("/api/auth/status")
    assert response.status_code == 200
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


def test_unknown_pages_are_not_the_app(client: TestClient) -> None:
    assert client.get("/nope").status_code == 404
