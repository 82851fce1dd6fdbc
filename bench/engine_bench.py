"""In-process engine throughput, no HTTP: one stream and N concurrent streams on the
bundled model (greedy, EOS ignored), to separate the engine's cost from the server's.

    .venv/bin/python bench/engine_bench.py [--tokens 256] [--streams 8] [--threads 2]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from causerie.core.types import GenerationRequest, Message, SamplingParams
from causerie.engine.llamacpp.engine import EngineOptions, LlamaCppEngine
from causerie.engine.models import bundled_model_path, inspect_model


async def one(engine: LlamaCppEngine, text: str, tokens: int) -> int:
    params = SamplingParams(temperature=0.0, max_tokens=tokens, ignore_eos=True)
    stream = await engine.submit(
        GenerationRequest(model="", params=params, messages=(Message("user", text),))
    )
    count = 0
    async for event in stream:
        if event.usage is not None:
            count = event.usage.completion_tokens
    return count


async def main(tokens: int, streams: int, threads: int) -> None:
    spec = inspect_model(bundled_model_path(), bundled=True)
    engine = LlamaCppEngine(spec, EngineOptions(ctx_size=2048, parallel=streams, threads=threads))
    await engine.start()
    try:
        await one(engine, "warm up", 8)
        started = time.perf_counter()
        produced = await one(engine, "Tell me a long story.", tokens)
        single = produced / (time.perf_counter() - started)
        started = time.perf_counter()
        counts = await asyncio.gather(
            *(one(engine, f"Tell me story number {i}.", tokens) for i in range(streams))
        )
        batched = sum(counts) / (time.perf_counter() - started)
    finally:
        await engine.close()
    print(f"1 stream: {single:.1f} tok/s   {streams} streams: {batched:.1f} tok/s (total)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--streams", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    asyncio.run(main(args.tokens, args.streams, args.threads))
