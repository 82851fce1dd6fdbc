"""What one `llama_decode` costs as the batch grows: S sequences, each with 1 + K tokens
at depth D (every row asks for logits, as a decode or a draft to verify would).

It answers two questions about this machine's kernels: how much a batch of 8 streams
saves per token over one stream (continuous batching's gain), and whether verifying K
drafted tokens per stream (speculative decoding) could ever pay: it pays only where
1 + K tokens cost well under 1 + K times one.

    .venv/bin/python bench/decode_cost.py [--depth 100] [--threads 2] [--reps 40]
"""

from __future__ import annotations

import argparse
import statistics
import time

from causerie.engine.llamacpp.batch import Batch
from causerie.engine.llamacpp.model import LlamaRuntime, RuntimeConfig
from causerie.engine.models import bundled_model_path

STREAMS = (1, 2, 4, 8)
DRAFTS = (0, 1, 2, 4, 8)


def fill(runtime: LlamaRuntime, batch: Batch, streams: int, depth: int) -> None:
    """Give every sequence `depth` cached tokens."""
    for seq in range(streams):
        batch.clear()
        for pos in range(depth):
            batch.add(100 + pos % 50, pos, seq, pos == depth - 1)
        runtime.decode(batch.raw)


def step_ms(
    runtime: LlamaRuntime, batch: Batch, streams: int, drafts: int, depth: int, reps: int
) -> float:
    """Median wall time of one decode of `streams` x (1 + `drafts`) tokens, in ms."""
    times = []
    for _ in range(reps):
        batch.clear()
        for seq in range(streams):
            for offset in range(1 + drafts):
                batch.add(200 + offset, depth + offset, seq, True)
        started = time.perf_counter()
        runtime.decode(batch.raw)
        times.append(time.perf_counter() - started)
        for seq in range(streams):  # back to `depth` cached tokens
            runtime.seq_rm(seq, depth, -1)
    return statistics.median(times) * 1000


def main(depth: int, threads: int, reps: int) -> None:
    config = RuntimeConfig(
        path=bundled_model_path(),
        n_ctx_seq=2048,
        n_seq_max=max(STREAMS),
        n_batch=512,
        n_threads=threads,
    )
    runtime = LlamaRuntime(config)
    batch = Batch(512)
    try:
        fill(runtime, batch, max(STREAMS), depth)
        one = step_ms(runtime, batch, 1, 0, depth, reps)
        print(f"depth {depth}, {threads} threads; one token alone: {one:.2f} ms")
        print("streams  tokens/stream  step ms  ms/token  step / (streams x one token)")
        for streams in STREAMS:
            for drafts in DRAFTS:
                ms = step_ms(runtime, batch, streams, drafts, depth, reps)
                tokens = streams * (1 + drafts)
                print(
                    f"{streams:>7}  {1 + drafts:>13}  {ms:>7.2f}  {ms / tokens:>8.2f}"
                    f"  {ms / (streams * one):>6.2f}"
                )
    finally:
        batch.free()
        runtime.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--depth", type=int, default=100, help="cached tokens per sequence")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reps", type=int, default=40, help="timed decodes per cell")
    args = parser.parse_args()
    main(args.depth, args.threads, args.reps)
