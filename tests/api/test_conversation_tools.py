"""Chat tools through real HTTP on a real `causerie serve` with the bundled model: the tool
list, per-conversation enablement checked (400 naming the param), and a forced calculator
call whose grammar makes it parse; call, result and final answer are persisted."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.api.test_conversations import new_conversation, send, user
from tests.conftest import Server
from tests.support.postgres import BACKENDS
from tests.support.web import app_server


@pytest.fixture(scope="module", params=BACKENDS)
def app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    with app_server(str(request.param), tmp_path_factory.mktemp("tools")) as srv:
        yield srv


def test_forced_calculator_call_is_run_and_persisted(app: Server) -> None:
    b = user(app, "tools")
    listed = b.get("/api/tools").json()["data"]
    assert [t["name"] for t in listed] == ["calculator", "datetime", "documents", "python"]
    conv = new_conversation(b, params={"temperature": 0, "max_tokens": 120, "tools": ["datetime"]})
    refused = b.send("PATCH", f"/api/conversations/{conv}", json={"params": {"tools": ["sh"]}})
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "params.tools"
    bad = b.send(
        "POST", f"/api/conversations/{conv}/messages", json={"content": "hi", "tool": "sh"}
    )
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "tool"

    events = send(b, conv, "What is 12 times 7? Use the calculator.", tool="calculator")
    kinds = [k for k, _ in events]
    assert kinds[0] == "start" and kinds[-1] == "done", events[-1]
    assert kinds[1] == "tool_call" and kinds[2] == "tool_result" and kinds[3] == "continue"
    call = events[1][1]["call"]
    assert call["name"] == "calculator"
    assert isinstance(json.loads(call["arguments"])["expression"], str)  # the grammar held
    result = events[2][1]["message"]
    assert result["role"] == "tool" and result["meta"]["tool_call_id"] == call["id"]

    stored = b.get(f"/api/conversations/{conv}").json()
    messages = stored["messages"]
    assert [m["role"] for m in messages[:4]] == ["user", "assistant", "tool", "assistant"]
    assert messages[1]["meta"]["tool_calls"][0]["id"] == call["id"]
    assert (
        messages[2]["content"] == result["content"] and messages[2]["meta"]["name"] == "calculator"
    )
    assert all(m["status"] == "complete" for m in messages)
    assert stored["current_leaf_id"] == messages[-1]["id"] == events[-1][1]["message_id"]
    assert messages[-1]["role"] == "assistant"
    assert stored["params"]["tools"] == ["datetime"]  # forcing a tool does not enable it
