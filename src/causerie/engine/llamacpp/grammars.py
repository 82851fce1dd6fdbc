"""Grammars that constrain sampling: `OutputFormat` (JSON Schema) -> GBNF with
llama-cpp-python's converter, then compiled into a llama.cpp grammar sampler.

Both steps run at submit time in the caller's thread, so a bad schema or grammar is an
`InvalidRequestError` (400) and never reaches the decode thread.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import llama_cpp as lc
from llama_cpp.llama_grammar import SchemaConverter

from causerie.core.errors import InvalidRequestError
from causerie.core.types import OutputFormat, SamplingParams
from causerie.engine.llamacpp.unicode import utf8

MAX_GRAMMAR_CHARS = 256 * 1024
MAX_ENUM_RANGE = 1000  # integer ranges up to this size are enforced as enums
# The converter spells a bound of n repeats as n copies of the item, so bounds (and regex
# quantifiers) are capped: `minItems: 1e9` would take the server's memory, not a 400.
MAX_REPEAT = 1000
_REPEATS = ("minLength", "maxLength", "minItems", "maxItems")
_QUANTIFIER = re.compile(r"\{\s*(\d*)\s*(?:,\s*(\d*)\s*)?\}")
_RANGE = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
_UNENFORCED = frozenset(
    (*_RANGE, "multipleOf", "uniqueItems", "minProperties", "maxProperties", "not",
     "if", "then", "else", "patternProperties", "propertyNames", "contains",
     "dependentRequired", "dependentSchemas", "unevaluatedProperties", "unevaluatedItems")
)  # fmt: skip
_SCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties", "dependentSchemas")
_SUBSCHEMAS = ("items", "additionalProperties", "not", "anyOf", "oneOf", "allOf",
               "prefixItems", "contains", "if", "then", "else", "propertyNames")  # fmt: skip
# JSON strings may not hold raw control characters; the converter's `char` rule allows them.
_CHAR_RULE = re.compile(r'^char ::= \[\^"\\\\\]', re.MULTILINE)
_STRICT_CHAR = r'char ::= [^"\\\x7F\x00-\x1F]'


def _literal(text: str) -> str:
    return json.dumps(text)  # a GBNF string literal uses JSON's escapes


def _number(value: Any) -> float | None:
    """A finite number, else None (JSON allows no Infinity, Python's parser does)."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    return float(value) if ok and math.isfinite(value) else None


def _bound(schema: dict[str, Any], key: str, exclusive: str, lower: bool) -> int | None:
    """The tightest integer bound that `key`/`exclusive` (drafts 4 and 6+) allow."""
    inclusive, strict = _number(schema.get(key)), _number(schema.get(exclusive))
    if schema.get(exclusive) is True and inclusive is not None:  # draft 4
        inclusive, strict = None, inclusive
    bounds: list[int] = []
    if inclusive is not None:
        bounds.append(math.ceil(inclusive) if lower else math.floor(inclusive))
    if strict is not None:
        bounds.append(math.floor(strict) + 1 if lower else math.ceil(strict) - 1)
    if not bounds:
        return None
    return max(bounds) if lower else min(bounds)


def _over(count: str) -> bool:
    """A quantifier's count (digits, or "" when absent) above `MAX_REPEAT`."""
    return len(count) > 6 or (count != "" and int(count) > MAX_REPEAT)


def _too_many_repeats(schema: dict[str, Any]) -> list[str]:
    """The keywords of `schema` whose repeat counts are above `MAX_REPEAT`."""
    found = [
        key
        for key in _REPEATS
        if isinstance(schema.get(key), (int, float))
        and not isinstance(schema.get(key), bool)
        and schema[key] > MAX_REPEAT
    ]
    pattern = schema.get("pattern")
    if isinstance(pattern, str) and any(
        _over(low) or _over(high) for low, high in _QUANTIFIER.findall(pattern)
    ):
        found.append("pattern")
    return found


def _prepare(schema: Any, strict: bool) -> Any:
    """A copy of `schema` the converter can enforce: small integer ranges become enums;
    other keywords it would ignore are refused when `strict`."""
    if isinstance(schema, list):
        return [_prepare(s, strict) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: _prepare(sub, strict) for name, sub in value.items()}
        elif key in _SUBSCHEMAS:
            out[key] = _prepare(value, strict)
        else:
            out[key] = value
    if out.get("type") == "integer" and any(k in out for k in _RANGE):
        low = _bound(out, "minimum", "exclusiveMinimum", lower=True)
        high = _bound(out, "maximum", "exclusiveMaximum", lower=False)
        if low is not None and high is not None and 0 <= high - low < MAX_ENUM_RANGE:
            rest = {k: v for k, v in out.items() if k not in _RANGE and k != "type"}
            return {**rest, "enum": list(range(low, high + 1))}
    for key in ("enum", "anyOf", "oneOf"):
        if out.get(key) == []:
            raise InvalidRequestError(
                f"'{key}' must list at least one choice", param="response_format"
            )
    for key in _too_many_repeats(out):
        if strict:
            raise InvalidRequestError(
                f"'{key}' asks for more than {MAX_REPEAT} repeats, which cannot be enforced",
                param="response_format",
            )
        del out[key]  # left unenforced, like the keywords the converter ignores
    if strict:
        for key in out:
            if key in _UNENFORCED:
                raise InvalidRequestError(
                    f"strict schemas cannot use '{key}' here (it cannot be enforced)",
                    param="response_format",
                )
    return out


def format_to_gbnf(fmt: OutputFormat) -> str:
    """GBNF text for `fmt`; raises `InvalidRequestError` if the schema cannot be converted."""
    try:
        schema = _prepare(json.loads(fmt.schema), fmt.strict)
        converter = SchemaConverter(  # type: ignore[no-untyped-call]
            prop_order={}, allow_fetch=False, dotall=False, raw_pattern=False
        )
        schema = converter.resolve_refs(schema, "request")
        # the name of the value's rule: "item", or a shared rule ("string") for a bare type
        item: str = converter.visit(schema, "item")  # type: ignore[no-untyped-call]
        rules: str = converter.format_grammar()  # type: ignore[no-untyped-call]
    except (ValueError, TypeError, KeyError, AssertionError, AttributeError, RecursionError) as exc:
        raise InvalidRequestError(
            f"this JSON schema is not supported: {exc or type(exc).__name__}",
            param="response_format",
        ) from exc
    rules = _CHAR_RULE.sub(lambda _m: _STRICT_CHAR, rules)
    one = " ".join(p for p in (_literal(fmt.prefix) if fmt.prefix else "", item) if p)
    if fmt.suffix:
        one += " " + _literal(fmt.suffix)
    more = fmt.max_count - fmt.min_count
    head = " ".join(["entry"] + ['"\\n" entry'] * max(0, fmt.min_count - 1))
    tail = f' ("\\n" entry){{0,{more}}}' if more > 0 else ""
    return f"root ::= {head}{tail}\nentry ::= {one}\n{rules}"


def grammar_text(params: SamplingParams) -> str | None:
    """The GBNF that `params` ask for, or None when sampling is unconstrained."""
    if params.grammar is not None:
        return params.grammar
    if params.output_format is not None:
        return format_to_gbnf(params.output_format)
    return None


class CompiledGrammar:
    """An owned llama.cpp grammar sampler; `take` hands it over to a sampler chain."""

    def __init__(self, vocab: Any, text: str) -> None:
        if len(text) > MAX_GRAMMAR_CHARS:
            raise InvalidRequestError(
                "the schema is too large to be enforced", param="response_format"
            )
        ptr = lc.llama_sampler_init_grammar(vocab, utf8(text, "response_format"), b"root")
        if not ptr:
            raise InvalidRequestError(
                "the output constraint could not be compiled into a grammar",
                param="response_format",
            )
        self._ptr: Any = ptr

    def take(self) -> Any:
        ptr, self._ptr = self._ptr, None
        return ptr

    def free(self) -> None:
        if self._ptr:
            lc.llama_sampler_free(self._ptr)
            self._ptr = None
