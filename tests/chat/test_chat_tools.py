"""The chat tools one by one: the calculator's arithmetic and refusals (never eval), the
clock's time zones, the Python tool through the real sandbox (timeout included), document
search limited to the user's own documents (SQLite and PostgreSQL), and bad arguments
always coming back as a result text."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from causerie.chat.sandbox import SandboxLimits
from causerie.chat.tools import TOOLS, ToolContext, ToolInputError, check_names, run_call
from causerie.chat.tools.calculator import evaluate
from causerie.chat.tools.clock import make_run
from causerie.chat.tools.python import make_run as python_run
from causerie.core.errors import InvalidRequestError
from causerie.core.types import ToolCall
from causerie.store.db import Database
from tests.store.test_document_search import Piece, add_user

NO_DB = ToolContext(db=None, user_id="nobody")  # type: ignore[arg-type]


def call(name: str, **args: object) -> ToolCall:
    return ToolCall(id="call_1", name=name, arguments=json.dumps(args))


def run(name: str, context: ToolContext = NO_DB, **args: object) -> str:
    return asyncio.run(run_call(call(name, **args), context))


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("-2 ** 2", -4),
        ("7 // 2 + 7 % 2", 4),
        ("2 ^ 10", 1024),
        ("sqrt(16) + abs(-1)", 5),
        ("factorial(5)", 120),
        ("round(pi, 3)", 3.142),
        ("log(e)", 1),
        ("2 ** -1", 0.5),
        ("10 / 4", 2.5),
    ],
)
def test_calculator_computes(expression: str, value: float) -> None:
    assert evaluate(expression) == pytest.approx(value)


@pytest.mark.parametrize(
    ("expression", "why"),
    [
        ("9**9**9", "exponents above"),
        ("10 ** 999", "digits"),
        ("factorial(100000)", "limited"),
        ("round(1, -10**300)", "at most 400 digits"),
        ("round(1, -1000000)", "at most 400 digits"),
        ("1 / 0", "division by zero"),
        ("__import__('os').system('id')", "not arithmetic"),
        ("__import__('os')", "unknown function"),
        ("().__class__", "not arithmetic"),
        ("open('/etc/passwd')", "unknown function"),
        ("x + 1", "unknown name"),
        ("'a' * 3", "not a number"),
        ("2 +", "not a valid expression"),
        ("sqrt(-1)", "cannot compute"),
        ("(-8) ** 0.5", "not a real number"),
        ("", "empty"),
        ("+".join(["1"] * 300), "too long"),
    ],
)
def test_calculator_refuses(expression: str, why: str) -> None:
    with pytest.raises(ToolInputError, match=why):
        evaluate(expression)


def test_calculator_result_text_and_errors_reach_the_model() -> None:
    assert run("calculator", expression="6 * 7") == "6 * 7 = 42"
    assert run("calculator", expression="9**9**9").startswith("error: exponents above")
    assert run("calculator").startswith("error: the argument 'expression' is missing")
    assert run("calculator", expression=12).startswith("error: the argument 'expression' must")
    assert run("calculator", expr="1").startswith("error: unknown argument 'expr'")
    bad_json = ToolCall(id="c", name="calculator", arguments="{not json")
    assert asyncio.run(run_call(bad_json, NO_DB)) == "error: the arguments are not valid JSON"
    assert run("teleport").startswith("error: there is no tool named 'teleport'")


def test_datetime_in_zones() -> None:
    fixed = make_run(lambda: datetime(2026, 1, 15, 12, 30, tzinfo=UTC))
    paris = asyncio.run(fixed({"timezone": "Europe/Paris"}, NO_DB))
    assert "13:30:00" in paris and "2026-01-15T13:30:00+01:00" in paris and "Thursday" in paris
    tokyo = asyncio.run(fixed({"timezone": "Asia/Tokyo"}, NO_DB))
    assert "2026-01-15T21:30:00+09:00" in tokyo
    default = asyncio.run(fixed({}, ToolContext(db=None, user_id="u", timezone="America/New_York")))  # type: ignore[arg-type]
    assert "07:30:00" in default
    with pytest.raises(ToolInputError, match="unknown time zone 'Mars/Olympus'"):
        asyncio.run(fixed({"timezone": "Mars/Olympus"}, NO_DB))
    assert run("datetime", timezone="../../etc/passwd").startswith("error: unknown time zone")
    now = run("datetime")
    assert str(datetime.now(UTC).year) in now and "UTC" in now


def test_python_runs_in_the_sandbox(tmp_path: Path) -> None:
    out = run("python", code="import math\nprint(math.factorial(20))")
    assert out.startswith("exit code 0") and "2432902008176640000" in out
    failed = run("python", code="raise SystemExit('boom')")
    assert failed.startswith("exit code 1") and "boom" in failed
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    stolen = run("python", code=f"print(open({str(secret)!r}).read())")
    assert "top secret" not in stolen and "exit code 1" in stolen
    assert run("python", code="  ").startswith("error: the code is empty")


def test_python_is_killed_at_its_time_limit() -> None:
    busy = python_run(SandboxLimits(time_s=1.0), at_once=0)
    with pytest.raises(ToolInputError, match="already runs 0 programs"):
        asyncio.run(busy({"code": "print(1)"}, NO_DB))
    quick = python_run(SandboxLimits(time_s=1.0))
    out = asyncio.run(quick({"code": "while True: pass"}, NO_DB))
    assert out.startswith("timed out after 1 s")


def add_document(db: Database, user_id: str, filename: str, *texts: str) -> None:
    with db.unit() as uow:
        doc = uow.documents.create(
            user_id, filename=filename, mime="text/plain", size=1, sha256="0" * 64,
            stored_name="x.txt", status="ready", chunk_count=0,
        )  # fmt: skip
        uow.documents.replace_chunks(doc, [Piece(i, "", t) for i, t in enumerate(texts)])
        uow.commit()


def test_documents_search_only_the_users_own(db: Database) -> None:
    alice, bob = add_user(db, "a@example.org"), add_user(db, "b@example.org")
    add_document(db, alice, "volcano.txt", "Basalt forms when lava cools quickly.")
    add_document(db, bob, "bob-secret.txt", "Bob's basalt canary: 7741.")
    found = run("documents", ToolContext(db, alice), query="basalt lava")
    assert found.startswith("[1] volcano.txt") and "lava cools" in found
    assert "canary" not in found and "bob-secret" not in found
    assert "canary" in run("documents", ToolContext(db, bob), query="basalt")
    nothing = run("documents", ToolContext(db, alice), query="canary")
    assert nothing.startswith("No passage") and "7741" not in nothing
    assert run("documents", ToolContext(db, alice), query=" ") == "error: the query is empty"


def test_registry_names() -> None:
    assert set(TOOLS) == {"calculator", "datetime", "documents", "python"}
    assert check_names(["python", "calculator", "python"]) == ["python", "calculator"]
    with pytest.raises(InvalidRequestError) as caught:
        check_names(["calculator", "rm"], param="params.tools")
    assert caught.value.param == "params.tools" and "rm" in caught.value.message
    static = Path(__file__).resolve().parents[2] / "src/causerie/web/static/i18n"
    en, fr = (json.loads((static / f"{lang}.json").read_text()) for lang in ("en", "fr"))
    for tool in TOOLS.values():
        assert tool.title == f"tools.{tool.name}" and tool.parameters["type"] == "object"
        assert tool.title in en and tool.title in fr  # the UI shows its translated name
