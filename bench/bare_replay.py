"""What llama.cpp's kernels alone need for the serve benchmark's requests: the level that a
server on this machine can only approach, whatever its language or design (measured between
the servers' runs, it moves with the machine's drift like they do).

It replays `serve_bench`'s concurrency levels on a bare llama.cpp context, with no HTTP, no
scheduler, no sampling and no detokenizing: the same prompts (rendered with the model's own
template), `concurrency` requests at a time, each prefilling only what no cache could hold
(a prompt seen before is restored from RAM, as every server's cache could at best; of a new
one, the shared system prompt stays cached) and then decoding `max_tokens - 1` steps with
every running request in one batch. Each level's output tokens/s is about the most a
server can deliver for that level here; a server's figure over it is the share of the
machine that the server turns into answers.

    .venv/bin/python bench/bare_replay.py [--concurrency 1,8] [--num-prompts 32]
        [--max-tokens 128] [--parallel 8] [--ctx-size 4096] [--threads 2] [--distinct-prompts] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from causerie.core.types import Message
from causerie.engine.llamacpp.batch import Batch
from causerie.engine.llamacpp.model import LlamaRuntime, RuntimeConfig
from causerie.engine.llamacpp.prompt import chat_tokens
from causerie.engine.llamacpp.slots import common_prefix
from causerie.engine.models import bundled_model_path, inspect_model
from causerie.engine.templates import ChatTemplate

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serve_bench import level_messages  # sibling script: bench/ is not a package

N_BATCH = 512
FILLER = 200  # the token fed back at every decode step: its value does not change the cost


class Replay:
    """A bare context with `parallel` sequences, each remembering the tokens it holds, and
    every finished request's cache kept in RAM (an unbounded prompt cache)."""

    def __init__(self, model: Path, parallel: int, ctx: int, threads: int) -> None:
        self.spec = inspect_model(model, bundled=model == bundled_model_path())
        self.rt = LlamaRuntime(
            RuntimeConfig(
                path=model, n_ctx_seq=ctx, n_seq_max=parallel, n_batch=N_BATCH, n_threads=threads
            )
        )
        self.batch = Batch(N_BATCH)
        self.held: list[list[int]] = [[] for _ in range(parallel)]
        self.saved: dict[tuple[int, ...], bytearray] = {}
        self.template = ChatTemplate(
            self.spec.chat_template, bos_token=self.spec.bos_token, eos_token=self.spec.eos_token
        )

    def prompt(self, concurrency: int, i: int, distinct: bool = False) -> list[int]:
        wire = level_messages(concurrency, i, distinct)
        messages = [Message(m["role"], m["content"]) for m in wire]
        return chat_tokens(self.rt, self.template, messages, ())

    def _decode(self) -> None:
        if self.batch.n and self.rt.decode(self.batch.raw) != 0:
            raise RuntimeError("llama_decode failed")
        self.batch.clear()

    def prefill(self, prompts: list[list[int]]) -> int:
        """Put each prompt in its own sequence, decoding only what the sequence lacks;
        returns how many tokens were decoded."""
        decoded = 0
        self.batch.clear()
        for seq, prompt in enumerate(prompts):
            state = self.saved.get(tuple(prompt))
            if state is not None:  # seen before: restored (what followed it is dropped below)
                self.rt.seq_clear(seq)
                self.held[seq] = list(prompt) if self.rt.state_set(seq, state) else []
            keep = min(common_prefix(self.held[seq], prompt), len(prompt) - 1)
            self.rt.seq_rm(seq, keep, -1)
            for pos in range(keep, len(prompt)):
                if self.batch.room == 0:
                    self._decode()
                self.batch.add(prompt[pos], pos, seq, pos == len(prompt) - 1)
            self.held[seq] = list(prompt)
            decoded += len(prompt) - keep
        self._decode()
        return decoded

    def generate(self, lengths: list[int], steps: int) -> None:
        """`steps` decode steps, one token per sequence each, every row with logits."""
        for step in range(steps):
            for seq, start in enumerate(lengths):
                self.batch.add(FILLER, start + step, seq, True)
            self._decode()
        for seq in range(len(lengths)):
            self.held[seq] += [FILLER] * steps

    def level(
        self, concurrency: int, num_prompts: int, max_tokens: int, distinct: bool
    ) -> dict[str, Any]:
        """Requests in waves of `concurrency`, or of as many as there are sequences (a
        server's slots; the rest wait): in the benchmark they all last `max_tokens` tokens,
        so they start and end together. Returns the level's figures."""
        started, prefill_s, prefilled = time.perf_counter(), 0.0, 0
        width = min(concurrency, len(self.held))
        for first in range(0, num_prompts, width):
            wave = range(first, min(first + width, num_prompts))
            prompts = [self.prompt(concurrency, i, distinct) for i in wave]
            t0 = time.perf_counter()
            prefilled += self.prefill(prompts)
            prefill_s += time.perf_counter() - t0
            self.generate([len(p) for p in prompts], max_tokens - 1)
            for seq, prompt in enumerate(prompts):
                self.saved[tuple(prompt)] = self.rt.state_get(seq)
        seconds = time.perf_counter() - started
        return {
            "concurrency": concurrency,
            "output_tps": num_prompts * max_tokens / seconds,
            "prefill_share": prefill_s / seconds,
            "prefill_tokens_per_request": prefilled / num_prompts,
            "seconds": seconds,
        }

    def close(self) -> None:
        self.batch.free()
        self.rt.close()


def run(
    model: Path,
    concurrency: list[int],
    num_prompts: int,
    max_tokens: int,
    parallel: int,
    ctx: int,
    threads: int,
    distinct: bool = False,
) -> list[dict[str, Any]]:
    replay = Replay(model, parallel, ctx, threads)
    try:
        # warm-up, and every sequence starts out holding the shared system prompt (a server
        # copies it from whichever slot has it): the replay counts no avoidable prefill
        warm = replay.prompt(0, 0, distinct=True)  # a question no level asks
        replay.prefill([warm] * len(replay.held))
        replay.generate([len(warm)] * len(replay.held), 8)
        return [replay.level(c, num_prompts, max_tokens, distinct) for c in concurrency]
    finally:
        replay.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=None, help="GGUF (default: bundled)")
    parser.add_argument("--concurrency", default="1,8")
    parser.add_argument("--num-prompts", type=int, default=32)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--parallel", type=int, default=8)
    parser.add_argument("--ctx-size", type=int, default=4096, help="context per sequence")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--distinct-prompts", action="store_true", help="as serve_bench's")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args(argv)
    levels = run(
        args.model or bundled_model_path(),
        [int(c) for c in args.concurrency.split(",")],
        args.num_prompts,
        args.max_tokens,
        args.parallel,
        args.ctx_size,
        args.threads,
        args.distinct_prompts,
    )
    if args.json:
        print(json.dumps(levels))
        return 0
    print("concurrency  output tok/s  prefill share  prefill tok/request")
    for row in levels:
        print(
            f"{row['concurrency']:>11}  {row['output_tps']:>12.1f}  "
            f"{100 * row['prefill_share']:>12.1f} %  {row['prefill_tokens_per_request']:>19.1f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
