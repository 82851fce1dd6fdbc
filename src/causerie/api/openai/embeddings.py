"""`POST /v1/embeddings`: OpenAI-compatible, served by the configured embedding model.

Thin: check the model and the options, admit the caller (rate limit, tokens per day), hand
the inputs to the `Embedder` a slice at a time (so that chat grounding and indexing get the
model between slices), record the usage, shape the answer (floats, or base64 of
little-endian float32 as the official client asks by default). Without an embedding model
every model name is simply not found.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Sequence

import numpy as np
from fastapi import APIRouter, Depends, Request

from causerie.api.deps import EmbedderDep
from causerie.api.openai.protocol import (
    EmbeddingData,
    EmbeddingList,
    EmbeddingRequest,
    EmbeddingUsage,
)
from causerie.api.security import api_caller
from causerie.chat.quotas import QuotaService, bound_caller
from causerie.core.errors import InvalidRequestError, ModelNotFoundError
from causerie.core.types import Usage
from causerie.engine.base import EmbeddingInput

router = APIRouter(prefix="/v1", dependencies=[Depends(api_caller)], tags=["openai"])
MAX_INPUTS = 2048


def _inputs(value: str | list[str] | list[int] | list[list[int]]) -> Sequence[EmbeddingInput]:
    if isinstance(value, str):
        return [value]
    if not value:
        raise InvalidRequestError("input must not be empty", param="input")
    if all(isinstance(item, int) for item in value):
        return [[int(t) for t in value if isinstance(t, int)]]
    items: list[EmbeddingInput] = [item for item in value if not isinstance(item, int)]
    if len(items) > MAX_INPUTS:
        raise InvalidRequestError(f"input may hold at most {MAX_INPUTS} items", param="input")
    return items


@router.post("/embeddings")
async def create_embeddings(
    body: EmbeddingRequest, embedder: EmbedderDep, request: Request
) -> EmbeddingList:
    if embedder is None:
        raise ModelNotFoundError(
            f"The model '{body.model}' does not exist: this server has no embedding model "
            "(start it with --embedding-model)",
            param="model",
        )
    info = embedder.info
    if body.model not in (info.id, *info.aliases):
        raise ModelNotFoundError(
            f"The model '{body.model}' does not exist; the embedding model is '{info.id}'",
            param="model",
        )
    if body.dimensions is not None and body.dimensions != embedder.dimensions:
        raise InvalidRequestError(
            f"{info.id} makes {embedder.dimensions}-dimensional vectors only",
            param="dimensions",
        )
    inputs = _inputs(body.input)
    quotas: QuotaService | None = getattr(request.app.state, "quotas", None)
    caller = bound_caller()
    if quotas is not None and caller is not None:
        await asyncio.to_thread(quotas.admit, caller)
    result = await embedder.embed(inputs)  # the embedder takes turns with others per batch
    rows, tokens = list(result.vectors), result.tokens
    if quotas is not None and caller is not None:
        usage_row = Usage(prompt_tokens=tokens, completion_tokens=0)
        await asyncio.to_thread(quotas.record, caller.user_id, info.id, usage_row)
    data = [
        EmbeddingData(
            index=i,
            embedding=base64.b64encode(np.asarray(row, dtype="<f4").tobytes()).decode()
            if body.encoding_format == "base64"
            else row.tolist(),
        )
        for i, row in enumerate(rows)
    ]
    usage = EmbeddingUsage(prompt_tokens=tokens, total_tokens=tokens)
    return EmbeddingList(data=data, model=info.id, usage=usage)
