"""Value types that cross layer boundaries: messages, sampling parameters, stream events.

They are plain frozen dataclasses: no I/O, no framework. The API converts its pydantic
protocol models into these; the engine consumes them and produces `StreamEvent`s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Role = Literal["system", "user", "assistant", "tool", "developer"]
FinishReason = Literal["stop", "length", "cancelled", "error"]


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A function call the assistant asked for; `arguments` is JSON text (an object)."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A function the model may call; `parameters` is the JSON text of a JSON Schema."""

    name: str
    description: str = ""
    parameters: str = '{"type": "object", "properties": {}}'


@dataclass(frozen=True, slots=True)
class Message:
    """One chat turn. An assistant turn may carry `tool_calls`; a `tool` turn answers the
    call named by `tool_call_id`."""

    role: Role
    content: str
    name: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None


@dataclass(frozen=True, slots=True)
class OutputFormat:
    """Constrains generated text during sampling: between `min_count` and `max_count` JSON
    values that validate against `schema` (JSON text of a JSON Schema), each written as
    `prefix + value + suffix`, separated by newlines. Engines enforce it with a grammar;
    `strict` refuses schemas with keywords the grammar cannot enforce (else ignored)."""

    schema: str
    prefix: str = ""
    suffix: str = ""
    min_count: int = 1
    max_count: int = 1
    strict: bool = False


@dataclass(frozen=True, slots=True)
class SamplingParams:
    """How to pick tokens. `temperature == 0` means greedy; `max_tokens=None` means
    'until the context is full'. Stop strings are matched on text and never emitted."""

    max_tokens: int | None = None
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    min_p: float = 0.0
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    repeat_penalty: float = 1.0
    seed: int | None = None
    stop: tuple[str, ...] = ()
    logit_bias: tuple[tuple[int, float], ...] = ()
    logprobs: bool = False
    top_logprobs: int = 0
    ignore_eos: bool = False
    output_format: OutputFormat | None = None
    grammar: str | None = None  # raw GBNF (llama.cpp engines only); wins over output_format


@dataclass(frozen=True, slots=True)
class GenerationRequest:
    """One generation: either chat `messages` (rendered with the model's template) or a
    raw `prompt`. `model` is the id the client asked for (empty: the default model).
    `tools` are shown to the model with the chat messages (see engine/toolprompt.py).
    `affinity_key` (a conversation, a client) lets a router send related requests to the
    replica that already holds their KV cache."""

    model: str
    params: SamplingParams
    messages: tuple[Message, ...] | None = None
    prompt: str | None = None
    request_id: str = ""
    tools: tuple[ToolSpec, ...] = ()
    affinity_key: str | None = None


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class TokenLogprob:
    token: str
    logprob: float
    bytes: tuple[int, ...]
    top: tuple[tuple[str, float, tuple[int, ...]], ...] = ()


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """A piece of an answer. Every stream ends with exactly one event whose
    `finish_reason` is set; that event carries the final `usage`."""

    text: str = ""
    token_count: int = 0
    logprobs: tuple[TokenLogprob, ...] = ()
    finish_reason: FinishReason | None = None
    usage: Usage | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """What the API and the UI may know of a served model."""

    id: str
    context_length: int
    architecture: str
    owned_by: str = "causerie"
    path: str | None = None
    created: int = 0
    aliases: tuple[str, ...] = field(default_factory=tuple)
