"""Output constraints on the real engine: JSON Schema -> GBNF -> llama.cpp grammar sampler;
a bad schema or grammar is refused at submit time."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import jsonschema
import pytest

from causerie.core.errors import InvalidRequestError
from causerie.core.types import GenerationRequest, Message, OutputFormat, SamplingParams
from causerie.engine.llamacpp.engine import EngineOptions, LlamaCppEngine
from causerie.engine.llamacpp.grammars import format_to_gbnf
from causerie.engine.models import inspect_model

SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string", "maxLength": 20}, "n": {"type": "integer"}},
    "required": ["name", "n"],
    "additionalProperties": False,
}


def test_gbnf_wraps_and_repeats_items() -> None:
    fmt = OutputFormat(json.dumps(SCHEMA), prefix="<a>", suffix="</a>", min_count=1, max_count=3)
    text = format_to_gbnf(fmt)
    assert text.startswith('root ::= entry ("\\n" entry){0,2}\nentry ::= "<a>" item "</a>"\n')
    assert r'char ::= [^"\\\x7F\x00-\x1F]' in text


def test_small_integer_ranges_are_enforced_and_strict_refuses_the_rest() -> None:
    ranged = {"type": "integer", "minimum": 1, "exclusiveMaximum": 4}
    text = format_to_gbnf(OutputFormat(json.dumps(ranged), strict=True))
    assert 'item ::= "1" | "2" | "3"' in text
    loose = {"type": "number", "minimum": 0}
    assert "number" in format_to_gbnf(OutputFormat(json.dumps(loose)))
    with pytest.raises(InvalidRequestError, match="minimum"):
        format_to_gbnf(OutputFormat(json.dumps(loose), strict=True))


@pytest.mark.parametrize(
    ("key", "schema"),
    [
        ("minItems", {"type": "array", "items": {"type": "integer"}, "minItems": 10**9}),
        ("maxItems", {"type": "array", "items": {"type": "integer"}, "maxItems": 10**9}),
        ("minLength", {"type": "string", "minLength": 10**9}),
        ("maxLength", {"type": "string", "maxLength": 1001}),
        ("pattern", {"type": "string", "pattern": "^a{1000000000}$"}),
        ("pattern", {"type": "string", "pattern": "^[a-z]{ 2 , 99999999999999 }$"}),
    ],
)
def test_repeat_counts_beyond_the_cap_are_refused_when_strict_and_unenforced_otherwise(
    key: str, schema: dict[str, object]
) -> None:
    # the converter writes n repeats as n copies: uncapped, one request takes gigabytes
    nested = {"type": "object", "properties": {"x": schema}, "required": ["x"]}
    with pytest.raises(InvalidRequestError, match=key):
        format_to_gbnf(OutputFormat(json.dumps(nested), strict=True))
    text = format_to_gbnf(OutputFormat(json.dumps(nested)))
    assert len(text) < 4096
    within = {"type": "array", "items": {"type": "string", "pattern": "^a{3,5}$"}, "maxItems": 4}
    assert format_to_gbnf(OutputFormat(json.dumps(within), strict=True)).count("item-item") >= 4


@pytest.mark.parametrize(
    ("schema", "rule"),
    [
        ({"type": "string"}, "string"),
        ({"type": "integer"}, "integer"),
        ({"type": "boolean"}, "boolean"),
        ({"type": "number", "minimum": 0}, "number"),
    ],
)
def test_a_bare_type_at_the_root_is_its_shared_rule(schema: dict[str, object], rule: str) -> None:
    text = format_to_gbnf(OutputFormat(json.dumps(schema)))
    assert f"entry ::= {rule}\n" in text and f"\n{rule} ::= " in text


def test_empty_choices_and_infinite_bounds_are_clear_400s() -> None:
    for key in ("enum", "anyOf", "oneOf"):
        with pytest.raises(InvalidRequestError, match=f"'{key}' must list at least one"):
            format_to_gbnf(OutputFormat(json.dumps({key: []})))
    unbounded = '{"type": "integer", "minimum": 1, "maximum": Infinity}'  # Python's parser
    assert "integer" in format_to_gbnf(OutputFormat(unbounded))
    with pytest.raises(InvalidRequestError, match="cannot be enforced"):
        format_to_gbnf(OutputFormat(unbounded, strict=True))


def test_unsupported_schema_is_invalid_request() -> None:
    with pytest.raises(InvalidRequestError):
        format_to_gbnf(OutputFormat('{"type": "bogus"}'))
    with pytest.raises(InvalidRequestError):
        format_to_gbnf(OutputFormat("not json"))


def _ask(engine: LlamaCppEngine, params: SamplingParams, prompt: str = "A person") -> str:
    async def run() -> str:
        messages = (Message("user", prompt),)
        stream = await engine.submit(GenerationRequest("", params, messages=messages))
        return "".join([event.text async for event in stream])

    return asyncio.run(run())


def test_engine_constrains_and_refuses(model_path: Path) -> None:
    engine = LlamaCppEngine(
        inspect_model(model_path), EngineOptions(ctx_size=512, parallel=2, threads=2)
    )

    async def start() -> None:
        await engine.start()

    asyncio.run(start())
    try:
        fmt = OutputFormat(json.dumps(SCHEMA))
        for seed in range(3):
            params = SamplingParams(max_tokens=80, temperature=1.0, seed=seed, output_format=fmt)
            jsonschema.validate(json.loads(_ask(engine, params)), SCHEMA)
        calls = OutputFormat(json.dumps(SCHEMA), prefix="<c>", suffix="</c>", max_count=2)
        text = _ask(engine, SamplingParams(max_tokens=120, temperature=0, output_format=calls))
        for line in text.split("\n"):
            assert line.startswith("<c>") and line.endswith("</c>")
            jsonschema.validate(json.loads(line[3:-4]), SCHEMA)
        bare = OutputFormat(json.dumps({"type": "string", "maxLength": 12}))
        answer = _ask(engine, SamplingParams(max_tokens=24, temperature=0, output_format=bare))
        assert isinstance(json.loads(answer), str)
        surrogate = OutputFormat(json.dumps({"type": "string", "pattern": "^\ud800$"}))
        with pytest.raises(InvalidRequestError, match="lone surrogate"):
            _ask(engine, SamplingParams(output_format=surrogate))
        with pytest.raises(InvalidRequestError):
            _ask(engine, SamplingParams(grammar="root ::= missing"))
        with pytest.raises(InvalidRequestError):
            _ask(engine, SamplingParams(output_format=fmt, ignore_eos=True))
        assert _ask(engine, SamplingParams(max_tokens=5, temperature=0))  # still serving
    finally:
        asyncio.run(engine.close())
