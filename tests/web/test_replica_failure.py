"""In the browser, an answer whose engine replica dies mid-way (a remote replica behind the
router, SIGKILLed): the partial text stays, marked stopped, the reason is shown, and the
server stored the message `interrupted`."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import Server, start_server, stop_server
from tests.support.web import Browser
from tests.web.conftest import ADMIN_EMAIL, OpenPage
from tests.web.harness import PASSWORD

pytestmark = pytest.mark.slow

STREAMING = """() => {
  const m = document.querySelector('.msg--assistant.is-streaming .msg__content');
  return m !== null && m.textContent.trim().length > 20;
}"""


@pytest.fixture(scope="module")
def routed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    root = tmp_path_factory.mktemp("routed")
    engine = start_server(
        root / "engine", "--ctx-size", "1024", "--parallel", "1", "--threads", "1",
        api_key="k-upstream",
    )  # fmt: skip
    config = root / "models.toml"
    config.write_text(
        '[[models]]\nid = "smollm2-135m"\n'
        f'replicas = [ {{ engine = "remote", url = "{engine.v1}", model = "smollm2-135m", '
        'api_key_env = "WEB_UPSTREAM_KEY" } ]\n'
    )
    app = start_server(
        root / "app", "--models-config", str(config), env={"WEB_UPSTREAM_KEY": "k-upstream"}
    )
    try:
        assert Browser(app.url).signup(ADMIN_EMAIL, PASSWORD).status_code == 201
        yield engine, app
    finally:
        stop_server(app)
        stop_server(engine)


def test_replica_dying_mid_answer(open_page: OpenPage, routed: tuple[Server, Server]) -> None:
    engine, app = routed
    page: Any = open_page("/", url=app.url)
    composer = page.get_by_role("textbox", name="Message")
    composer.fill("Tell me a very long story about a dragon, a knight and a village.")
    composer.press("Enter")
    page.wait_for_function(STREAMING, timeout=120_000)
    os.kill(engine.process.pid, signal.SIGKILL)
    engine.process.wait(10)

    answer = page.locator(".msg--assistant").last
    expect(answer).to_have_attribute("data-status", "interrupted", timeout=30_000)
    expect(answer.locator(".msg__note")).to_have_text("Stopped")
    assert len(answer.locator(".msg__content").inner_text().strip()) > 20
    expect(page.locator(".toast--error")).to_contain_text("failed while answering")
    expect(page.get_by_role("button", name="Send")).to_be_visible()

    client = Browser(app.url)
    assert client.login(ADMIN_EMAIL, PASSWORD).status_code == 200
    conversation = page.url.rsplit("/", 1)[1]
    stored = client.get(f"/api/conversations/{conversation}").json()["messages"][-1]
    assert stored["status"] == "interrupted"
    assert "failed while answering" in stored["error"]
    assert stored["content"].strip()
