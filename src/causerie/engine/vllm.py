"""`VllmEngine`: vLLM in this process on local GPUs (multi-GPU through vLLM's own tensor and
pipeline parallelism), behind the `Engine` protocol.

vLLM is an optional extra (`pip install causerie[vllm]`) imported only inside `start`.
Prompts are rendered with the model's own chat template through our sandboxed Jinja (so
tools look as they do on the llama.cpp engine) and handed to vLLM as token ids, message
text that spells a control token tokenized as plain text (no forged turns, as on the
llama.cpp engine); the mapping helpers at the top are pure.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from causerie.core.errors import (
    ConfigurationError,
    ContextLengthExceededError,
    EngineError,
    InvalidRequestError,
    ModelNotFoundError,
    UnsupportedParameterError,
)
from causerie.core.types import (
    FinishReason,
    GenerationRequest,
    Message,
    ModelInfo,
    SamplingParams,
    StreamEvent,
    ToolSpec,
    Usage,
)
from causerie.engine.remote_wire import plain_schema
from causerie.engine.templates import ChatTemplate, control_pattern, render_guarded

log = logging.getLogger("causerie.engine.vllm")
_ids = itertools.count(1)


@dataclass(frozen=True)
class VllmOptions:
    model: str
    served_as: str | None = None
    tokenizer: str | None = None
    tensor_parallel_size: int = 1
    pipeline_parallel_size: int = 1
    gpu_memory_utilization: float = 0.9
    max_model_len: int | None = None
    dtype: str = "auto"
    quantization: str | None = None
    enforce_eager: bool = False


# --- pure mapping (tested without vLLM) -------------------------------------------------
def engine_kwargs(options: VllmOptions) -> dict[str, Any]:
    """Arguments of `vllm.AsyncEngineArgs`."""
    kwargs: dict[str, Any] = {
        "model": options.model,
        "tensor_parallel_size": options.tensor_parallel_size,
        "pipeline_parallel_size": options.pipeline_parallel_size,
        "gpu_memory_utilization": options.gpu_memory_utilization,
        "dtype": options.dtype,
        "enforce_eager": options.enforce_eager,
    }
    for key in ("tokenizer", "max_model_len", "quantization"):
        value = getattr(options, key)
        if value is not None:
            kwargs[key] = value
    return kwargs


def sampling_kwargs(params: SamplingParams, max_tokens: int) -> dict[str, Any]:
    """Arguments of `vllm.SamplingParams` for `params` (`max_tokens`: what the context
    leaves when the request sets none)."""
    if params.grammar:
        raise UnsupportedParameterError("a raw grammar is not supported by vLLM", param="grammar")
    kwargs: dict[str, Any] = {
        "max_tokens": params.max_tokens if params.max_tokens is not None else max_tokens,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "top_k": params.top_k if params.top_k > 0 else -1,
        "min_p": params.min_p,
        "presence_penalty": params.presence_penalty,
        "frequency_penalty": params.frequency_penalty,
        "repetition_penalty": params.repeat_penalty,
        "seed": params.seed,
        "stop": list(params.stop),
        "ignore_eos": params.ignore_eos,
        "logprobs": (params.top_logprobs or 0) if params.logprobs else None,
    }
    if params.logit_bias:
        kwargs["logit_bias"] = dict(params.logit_bias)
    return kwargs


def guided_json(request: GenerationRequest) -> dict[str, Any] | None:
    """The JSON schema to enforce, or None (see `remote_wire.plain_schema`)."""
    return plain_schema(request, "vLLM")


def finish_reason(raw: str | None) -> FinishReason:
    if raw == "length":
        return "length"
    if raw == "abort":
        return "cancelled"
    return "stop"


def delta(previous: str, cumulative: str) -> str:
    """The new text of a cumulative output (vLLM's default output kind)."""
    return cumulative[len(previous) :] if cumulative.startswith(previous) else cumulative


# --- prompts as token ids ---------------------------------------------------------------
_MARKUP = frozenset("<>[]|")


def _is_control(token: Any) -> bool:
    """An added token that can steer the model: a special one, or one that looks like
    markup (Qwen's `<tool_call>` and `<think>` are not marked special), never an added
    word or run of spaces."""
    text = str(token)
    if len(text) < 2:
        return False
    if getattr(token, "special", False):
        return True
    return not any(c.isspace() for c in text) and not _MARKUP.isdisjoint(text)


@dataclass(frozen=True)
class AddedTokens:
    """A Hugging Face tokenizer's control tokens by text (see `_is_control`): the tokenizer
    reads text that spells one as that token."""

    ids: dict[str, int]
    pattern: re.Pattern[str] | None

    @classmethod
    def of(cls, tokenizer: Any) -> AddedTokens:
        decoder = getattr(tokenizer, "added_tokens_decoder", None) or {}
        ids = {str(t): int(i) for i, t in decoder.items() if _is_control(t)}
        for text in getattr(tokenizer, "all_special_tokens", None) or ():
            if len(text) > 1 and text not in ids:
                ids[text] = int(tokenizer.convert_tokens_to_ids(text))
        return cls(ids, control_pattern(list(ids)))


_PLAIN_REFUSED = (
    "A message spells one of the model's control tokens (such as '<|im_end|>') and this "
    "model's tokenizer cannot read it as plain text. Remove the control token from the message."
)


def plain_ids(tokenizer: Any, text: str, added: AddedTokens) -> list[int]:
    """`text` tokenized as plain text, never as one of `added`: special tokens split by the
    tokenizer itself, or failing that (an added token that is not special, a tokenizer
    without `split_special_tokens`), every token `text` spells cut in two."""
    controls = set(added.ids.values())
    try:
        ids: list[int] = tokenizer.encode(text, add_special_tokens=False, split_special_tokens=True)
    except TypeError:  # a tokenizer that does not know split_special_tokens
        ids = []
    if ids and not controls.intersection(ids):
        return ids
    ids, pos = [], 0
    for match in added.pattern.finditer(text) if added.pattern else ():
        cut = match.start() + 1
        for piece in (text[pos : match.start()], text[match.start() : cut]):
            ids += tokenizer.encode(piece, add_special_tokens=False) if piece else []
        pos = cut
    ids += tokenizer.encode(text[pos:], add_special_tokens=False) if text[pos:] else []
    if controls.intersection(ids):
        raise InvalidRequestError(_PLAIN_REFUSED, param="messages")
    return ids


def chat_token_ids(
    tokenizer: Any,
    template: ChatTemplate,
    messages: Sequence[Message],
    tools: Sequence[ToolSpec],
    added: AddedTokens,
) -> list[int]:
    """The prompt's token ids: the template's text with its control tokens, a message that
    spells one as plain text; with the BOS the tokenizer wants if the template left it out."""
    ids: list[int] = []
    for text, plain in render_guarded(template, messages, tools, added.pattern):
        if plain:
            ids += plain_ids(tokenizer, text, added)
        else:
            ids += tokenizer.encode(text, add_special_tokens=False, split_special_tokens=False)
    bos = getattr(tokenizer, "bos_token_id", None)
    if getattr(tokenizer, "add_bos_token", False) and bos is not None and ids[:1] != [bos]:
        ids.insert(0, int(bos))
    return ids


# --- vLLM API differences between releases ----------------------------------------------
async def _call_or_attr(engine: Any, method: str, attribute: str) -> Any:
    """`await engine.method()` where the release has it, else `engine.attribute`."""
    if hasattr(engine, attribute) and not hasattr(engine, method):
        return getattr(engine, attribute)
    return await getattr(engine, method)()


def _structured(vllm: Any, schema: dict[str, Any]) -> dict[str, Any]:
    """The SamplingParams argument enforcing a JSON schema (renamed across releases)."""
    params = vllm.sampling_params
    if hasattr(params, "StructuredOutputsParams"):
        return {"structured_outputs": params.StructuredOutputsParams(json=schema)}
    return {"guided_decoding": params.GuidedDecodingParams(json=schema)}


# --- the engine -------------------------------------------------------------------------
class VllmStream:
    def __init__(
        self, outputs: Any, abort: Any, request_id: str, prompt_tokens: int, closed: Any
    ) -> None:
        self._outputs, self._abort, self._id = outputs, abort, request_id
        self._prompt_tokens, self._done, self._closed, self._on_close = (
            prompt_tokens, False, False, closed,
        )  # fmt: skip

    def __aiter__(self) -> AsyncIterator[StreamEvent]:
        return self._events()

    async def _events(self) -> AsyncIterator[StreamEvent]:
        text, tokens = "", 0
        try:
            async for out in self._outputs:
                completion = out.outputs[0]
                piece = delta(text, completion.text)
                text = completion.text
                count = len(completion.token_ids) - tokens
                tokens = len(completion.token_ids)
                if completion.finish_reason is None:
                    if piece:
                        yield StreamEvent(text=piece, token_count=count)
                    continue
                self._done = True
                cached = int(getattr(out, "num_cached_tokens", 0) or 0)
                yield StreamEvent(
                    text=piece,
                    token_count=count,
                    finish_reason=finish_reason(completion.finish_reason),
                    usage=Usage(self._prompt_tokens, tokens, cached),
                )
                return
        except Exception as exc:
            self._done = True
            log.exception("vLLM failed while answering")
            yield StreamEvent(
                finish_reason="error",
                error=f"the engine failed while answering: {type(exc).__name__}",
                usage=Usage(self._prompt_tokens, tokens),
            )
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._on_close()
        if not self._done:
            self._done = True
            await self._abort(self._id)


class VllmEngine:
    def __init__(self, options: VllmOptions) -> None:
        self.options = options
        self._engine: Any = None
        self._template: ChatTemplate | None = None
        self._tokenizer: Any = None
        self._added = AddedTokens({}, None)
        self._max_len = options.max_model_len or 4096
        self._running = 0

    def models(self) -> Sequence[ModelInfo]:
        name = self.options.served_as or self.options.model.rstrip("/").rsplit("/", 1)[-1]
        return [ModelInfo(id=name, context_length=self._max_len, architecture="vllm")]

    async def start(self) -> None:
        if self._engine is not None:
            return
        try:
            import vllm
        except ImportError as exc:
            raise ConfigurationError(
                "the vllm engine needs vLLM: pip install 'causerie[vllm]'"
            ) from exc
        args = vllm.AsyncEngineArgs(**engine_kwargs(self.options))
        engine_class: Any = getattr(vllm, "AsyncLLMEngine", None)
        if engine_class is None:  # releases that export only the V1 engine
            from vllm.v1.engine.async_llm import AsyncLLM

            engine_class = AsyncLLM
        self._engine = engine_class.from_engine_args(args)
        self._tokenizer = await _call_or_attr(self._engine, "get_tokenizer", "tokenizer")
        config = await _call_or_attr(self._engine, "get_model_config", "model_config")
        self._max_len = int(config.max_model_len)
        tok = self._tokenizer
        self._added = AddedTokens.of(tok)
        self._template = ChatTemplate(
            getattr(tok, "chat_template", None),
            bos_token=getattr(tok, "bos_token", None) or "",
            eos_token=getattr(tok, "eos_token", None) or "",
        )

    async def close(self) -> None:
        engine, self._engine = self._engine, None
        if engine is not None and hasattr(engine, "shutdown"):
            engine.shutdown()

    def stats(self) -> dict[str, float]:
        return {"running": self._running, "queued": 0}

    async def submit(self, request: GenerationRequest) -> VllmStream:
        names = (self.models()[0].id, self.options.model)
        if request.model and request.model not in names:
            raise ModelNotFoundError(f"The model '{request.model}' does not exist", param="model")
        if self._engine is None or self._template is None:
            raise EngineError("the engine is not running")
        import vllm

        prompt: str | dict[str, list[int]]
        if request.messages is not None:
            ids = chat_token_ids(
                self._tokenizer, self._template, request.messages, request.tools, self._added
            )
            prompt, n_prompt = {"prompt_token_ids": ids}, len(ids)
        else:
            prompt = request.prompt or ""
            n_prompt = len(self._tokenizer.encode(prompt, add_special_tokens=False))
        room = self._max_len - n_prompt
        if room <= 0 or (request.params.max_tokens or 0) > room:
            raise ContextLengthExceededError(
                f"This model's maximum context length is {self._max_len} tokens; your request "
                f"needs {n_prompt + (request.params.max_tokens or 1)}.",
                param="messages" if request.messages is not None else "prompt",
            )
        kwargs = sampling_kwargs(request.params, room)
        schema = guided_json(request)
        if schema is not None:
            kwargs.update(_structured(vllm, schema))
        request_id = request.request_id or f"vllm-{next(_ids)}"
        outputs = self._engine.generate(prompt, vllm.SamplingParams(**kwargs), request_id)
        self._running += 1
        return VllmStream(outputs, self._engine.abort, request_id, n_prompt, self._closed)

    def _closed(self) -> None:
        self._running -= 1
