"""Load generator for OpenAI-compatible chat servers (Causerie and its anchors).

Sends streaming ``/v1/chat/completions`` requests (``stream=True`` with
``stream_options={"include_usage": true}``) at several concurrency levels and
reports request throughput, output token throughput, TTFT, TPOT, ITL and
failures, in the spirit of vLLM's ``bench serve``.  A multi-turn scenario
(K conversations at once, T turns each, the whole history re-sent every turn)
measures TTFT per turn index and, when the server reports it,
``usage.prompt_tokens_details.cached_tokens``.

Usage::

    python bench/serve_bench.py --base-url http://127.0.0.1:8000/v1 \
        --concurrency 1,4,8,16 --num-prompts 32 --multi-turn 4,10 --json out.json

Output tokens are taken from ``usage.completion_tokens`` when the server sends
it, otherwise the number of content-bearing chunks is used.  Every request has
a hard deadline (``--request-timeout``), so every loop is bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp

# Fixed, deterministic prompt list: varied short chat requests.
PROMPTS: tuple[str, ...] = (
    "Explain in a few sentences why the sky looks blue during the day.",
    "Write a short poem about a lighthouse keeper who loves tea.",
    "What are three practical tips for keeping houseplants alive?",
    "Summarise the plot of a heist story set on a slow night train.",
    "Give me a simple recipe for a vegetable soup with lentils.",
    "How does a bicycle stay upright when it is moving?",
    "List five good names for a small bakery by the sea.",
    "Describe the water cycle to a ten-year-old.",
    "What is the difference between a list and a tuple in Python?",
    "Write a friendly email reminding a colleague about a meeting tomorrow.",
    "Why do cats purr? Give a short answer.",
    "Suggest a weekend itinerary for a rainy city break.",
    "Explain what a prime number is and give four examples.",
    "Tell me a short story about a robot learning to paint.",
    "What should I pack for a two-day hike in the mountains?",
    "How do vaccines help the immune system? Keep it brief.",
    "Translate 'good morning, how are you?' into French and Spanish.",
    "Give three arguments for and against working from home.",
    "What is photosynthesis? Answer in plain words.",
    "Write a haiku about the first snow of winter.",
    "Explain how a hash table works in simple terms.",
    "What are some ways to improve sleep quality?",
    "Describe a busy market in a small town on a Saturday morning.",
    "How do I politely decline an invitation to a party?",
    "Explain the rules of chess for the knight and the bishop.",
    "Why is exercise good for mental health?",
    "Write a limerick about a forgetful wizard.",
    "What is the difference between weather and climate?",
    "Give me a short motivational message for a student before exams.",
    "How does a refrigerator keep food cold?",
    "Describe the taste of a ripe mango to someone who never had one.",
    "What are the main parts of a computer and what do they do?",
    "Suggest three board games for a family evening and why.",
    "Explain what recursion is with a tiny example.",
    "Write a two-line dialogue between a pirate and a parrot.",
    "How can I start learning to play the guitar?",
    "What causes the seasons on Earth?",
    "Give a brief history of the printing press.",
    "What are good habits for writing clean code?",
    "Describe a sunset over the desert in vivid words.",
)

SYSTEM_PROMPT = "You are a helpful, concise assistant."


def level_messages(concurrency: int, i: int, distinct: bool) -> list[dict[str, str]]:
    """Request `i` of a concurrency level. Every level asks the same questions, so a server
    with a prompt cache serves the later levels' prompts from it; with `distinct` each
    request opens with its own words, and only the system prompt can be cached."""
    question = PROMPTS[i % len(PROMPTS)]
    if distinct:
        question = f"Request {i + 1} at concurrency {concurrency}. {question}"
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": question}]


# Multi-turn scenario: one opener per conversation, then follow-ups.
MULTI_TURN_OPENERS: tuple[str, ...] = (
    "I want to plan a small vegetable garden on my balcony. Where do I start?",
    "Help me understand how computer networks send data between machines.",
    "I am writing a short fantasy story. Can you suggest a main character?",
    "Let's talk about healthy breakfasts. What are some quick options?",
    "I want to learn about the solar system. Tell me about the planets.",
    "Can you help me prepare for a job interview as a junior developer?",
    "I'd like to understand how bread rises. Can you explain?",
    "Tell me about the history of trains and railways.",
)

FOLLOW_UPS: tuple[str, ...] = (
    "Interesting. Can you go into a bit more detail?",
    "What would be a common mistake to avoid here?",
    "Give me a concrete example.",
    "How would you explain that to a child?",
    "What should I do next?",
    "Can you summarise what we discussed so far in two sentences?",
    "Is there anything surprising about this topic?",
    "What tools or resources would help?",
    "How long does this usually take?",
    "Thanks. One more question: what is the most important point?",
)


@dataclass
class BenchConfig:
    """Connection and sampling settings shared by every request."""

    base_url: str
    model: str
    api_key: str | None = None
    max_tokens: int = 128
    temperature: float = 0.0
    ignore_eos: bool = False
    request_timeout: float = 300.0
    distinct_prompts: bool = False


@dataclass
class RequestResult:
    """Outcome and timings of one streamed chat completion."""

    ok: bool = False
    error: str = ""
    ttft: float = 0.0  # seconds from send to first content chunk
    latency: float = 0.0  # seconds from send to end of stream
    output_tokens: int = 0
    content_chunks: int = 0
    usage_reported: bool = False
    prompt_tokens: int | None = None
    cached_tokens: int | None = None
    itl: list[float] = field(default_factory=list)  # gaps between content chunks
    text: str = ""


def normalize_base_url(url: str) -> str:
    """Strip trailing slashes and append ``/v1`` when the URL has no path."""
    url = url.rstrip("/")
    if urlsplit(url).path in ("", "/"):
        url += "/v1"
    return url


def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolation percentile (same as numpy's default); None if empty."""
    if not values:
        return None
    data = sorted(values)
    pos = (len(data) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = math.ceil(pos)
    if lo == hi:
        return data[lo]
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _ms(value: float | None) -> float | None:
    return None if value is None else value * 1000.0


def _headers(api_key: str | None) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    return headers


async def fetch_first_model(
    client: aiohttp.ClientSession, base_url: str, api_key: str | None
) -> str:
    """Return the first model id listed by ``GET {base_url}/models``."""
    wait = aiohttp.ClientTimeout(total=30.0)
    async with client.get(f"{base_url}/models", headers=_headers(api_key), timeout=wait) as resp:
        resp.raise_for_status()
        data = (await resp.json()).get("data") or []
    if not data:
        raise RuntimeError(f"{base_url}/models lists no models")
    return str(data[0]["id"])


def _apply_usage(result: RequestResult, usage: dict[str, Any]) -> None:
    if usage.get("completion_tokens") is not None:
        result.output_tokens = int(usage["completion_tokens"])
        result.usage_reported = True
    if usage.get("prompt_tokens") is not None:
        result.prompt_tokens = int(usage["prompt_tokens"])
    details = usage.get("prompt_tokens_details") or {}
    if isinstance(details, dict) and details.get("cached_tokens") is not None:
        result.cached_tokens = int(details["cached_tokens"])


async def stream_chat(
    client: aiohttp.ClientSession, cfg: BenchConfig, messages: list[dict[str, str]]
) -> RequestResult:
    """Send one streaming chat completion and time every content chunk."""
    body: dict[str, Any] = {
        "model": cfg.model,
        "messages": messages,
        "max_tokens": cfg.max_tokens,
        "temperature": cfg.temperature,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if cfg.ignore_eos:
        body["ignore_eos"] = True
    result = RequestResult()
    parts: list[str] = []
    start = time.perf_counter()
    last: float | None = None
    try:
        async with asyncio.timeout(cfg.request_timeout):
            async with client.post(
                f"{cfg.base_url}/chat/completions",
                json=body,
                headers=_headers(cfg.api_key),
            ) as resp:
                if resp.status != 200:
                    detail = (await resp.read()).decode("utf-8", "replace")[:300]
                    result.error = f"HTTP {resp.status}: {detail}"
                    return result
                async for raw in resp.content:  # one line at a time
                    if not raw.startswith(b"data:"):
                        continue  # blank separators, comments/pings, event: lines
                    payload = raw[5:].strip()
                    if payload == b"[DONE]":
                        break
                    if not payload:
                        continue
                    chunk = json.loads(payload)
                    if "error" in chunk:
                        result.error = f"stream error: {str(chunk['error'])[:300]}"
                        return result
                    if chunk.get("usage"):
                        _apply_usage(result, chunk["usage"])
                    for choice in chunk.get("choices") or []:
                        delta = choice.get("delta") or {}
                        piece = delta.get("content") or delta.get("reasoning_content") or ""
                        if not piece:
                            continue
                        now = time.perf_counter()
                        if last is None:
                            result.ttft = now - start
                        else:
                            result.itl.append(now - last)
                        last = now
                        result.content_chunks += 1
                        parts.append(piece)
    except TimeoutError:
        result.error = f"timeout after {cfg.request_timeout:.0f}s"
        return result
    except (aiohttp.ClientError, json.JSONDecodeError, ValueError) as exc:
        result.error = f"{type(exc).__name__}: {exc}"[:300]
        return result
    result.latency = time.perf_counter() - start
    result.text = "".join(parts)
    if not result.usage_reported:
        result.output_tokens = result.content_chunks
    if last is None:
        result.error = "no content received"
        return result
    result.ok = True
    return result


def _tpot(r: RequestResult) -> float | None:
    if r.output_tokens <= 1:
        return None
    return (r.latency - r.ttft) / (r.output_tokens - 1)


def _dist(values: list[float]) -> dict[str, float | None]:
    return {
        "mean": _ms(mean(values)),
        "p50": _ms(percentile(values, 50)),
        "p99": _ms(percentile(values, 99)),
    }


def summarize_level(
    concurrency: int, results: list[RequestResult], duration: float
) -> dict[str, Any]:
    """Aggregate one concurrency level into JSON-able metrics (times in ms)."""
    good = [r for r in results if r.ok]
    out_tokens = sum(r.output_tokens for r in good)
    tpots = [t for t in (_tpot(r) for r in good) if t is not None]
    itls = [gap for r in good for gap in r.itl]
    errors = sorted({r.error for r in results if not r.ok})
    return {
        "concurrency": concurrency,
        "num_requests": len(results),
        "completed": len(good),
        "failed": len(results) - len(good),
        "errors": errors[:5],
        "duration_s": duration,
        "request_throughput": len(good) / duration if duration > 0 else 0.0,
        "output_throughput": out_tokens / duration if duration > 0 else 0.0,
        "total_output_tokens": out_tokens,
        "mean_output_tokens": mean([float(r.output_tokens) for r in good]),
        "usage_reported": sum(1 for r in good if r.usage_reported),
        "ttft_ms": _dist([r.ttft for r in good]),
        "tpot_ms": _dist(tpots),
        "itl_ms": _dist(itls),
        "e2el_ms": _dist([r.latency for r in good]),
    }


async def run_level(
    client: aiohttp.ClientSession, cfg: BenchConfig, concurrency: int, num_prompts: int
) -> dict[str, Any]:
    """Run ``num_prompts`` requests with at most ``concurrency`` in flight."""
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> RequestResult:
        messages = level_messages(concurrency, i, cfg.distinct_prompts)
        async with sem:
            return await stream_chat(client, cfg, messages)

    start = time.perf_counter()
    results = await asyncio.gather(*(one(i) for i in range(num_prompts)))
    return summarize_level(concurrency, list(results), time.perf_counter() - start)


async def run_multi_turn(
    client: aiohttp.ClientSession, cfg: BenchConfig, conversations: int, turns: int
) -> dict[str, Any]:
    """K conversations in parallel, T turns each, full history re-sent per turn."""
    per_turn: list[list[RequestResult]] = [[] for _ in range(turns)]
    failed = 0
    skipped = 0

    async def conversation(idx: int) -> None:
        nonlocal failed, skipped
        history: list[dict[str, str]] = [{"role": "system", "content": SYSTEM_PROMPT}]
        for t in range(turns):
            if t == 0:
                user = MULTI_TURN_OPENERS[idx % len(MULTI_TURN_OPENERS)]
            else:
                user = FOLLOW_UPS[(idx + t - 1) % len(FOLLOW_UPS)]
            history.append({"role": "user", "content": user})
            res = await stream_chat(client, cfg, list(history))
            per_turn[t].append(res)
            if not res.ok:
                failed += 1
                skipped += turns - t - 1  # history is broken: stop this conversation
                return
            history.append({"role": "assistant", "content": res.text})

    start = time.perf_counter()
    await asyncio.gather(*(conversation(i) for i in range(conversations)))
    duration = time.perf_counter() - start

    turn_rows: list[dict[str, Any]] = []
    out_tokens = 0
    for t, results in enumerate(per_turn):
        good = [r for r in results if r.ok]
        out_tokens += sum(r.output_tokens for r in good)
        cached = [float(r.cached_tokens) for r in good if r.cached_tokens is not None]
        prompt = [float(r.prompt_tokens) for r in good if r.prompt_tokens is not None]
        turn_rows.append(
            {
                "turn": t + 1,
                "completed": len(good),
                "ttft_ms_mean": _ms(mean([r.ttft for r in good])),
                "prompt_tokens_mean": mean(prompt),
                "cached_tokens_mean": mean(cached),
                "output_tokens_mean": mean([float(r.output_tokens) for r in good]),
            }
        )
    errors = sorted({r.error for rs in per_turn for r in rs if not r.ok})
    return {
        "conversations": conversations,
        "turns": turns,
        "duration_s": duration,
        "total_output_tokens": out_tokens,
        "output_throughput": out_tokens / duration if duration > 0 else 0.0,
        "failed": failed,
        "skipped_turns": skipped,
        "errors": errors[:5],
        "per_turn": turn_rows,
    }


async def run_benchmark(
    base_url: str,
    *,
    model: str | None = None,
    api_key: str | None = None,
    concurrency: list[int] | None = None,
    num_prompts: int = 32,
    max_tokens: int = 128,
    temperature: float = 0.0,
    ignore_eos: bool = False,
    multi_turn: tuple[int, int] | None = None,
    warmup: int = 1,
    request_timeout: float = 300.0,
    distinct_prompts: bool = False,
    log: bool = True,
) -> dict[str, Any]:
    """Run all requested concurrency levels and the multi-turn scenario."""
    base_url = normalize_base_url(base_url)
    levels_wanted = concurrency if concurrency is not None else [1, 4, 8, 16]
    max_conn = max([*levels_wanted, multi_turn[0] if multi_turn else 1]) + 4
    # aiohttp parses HTTP in C: on a 2-core machine the load generator shares the CPU with
    # the server under test, and a lighter client takes less of it (vLLM's bench does too).
    # One connection per request: a kept-alive one the server has just timed out would fail
    # a request for the client's sake (llama-server closes idle ones after 5 s).
    connector = aiohttp.TCPConnector(limit=max_conn, force_close=True)
    timeout = aiohttp.ClientTimeout(total=None, connect=10.0)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as client:
        if model is None:
            model = await fetch_first_model(client, base_url, api_key)
        cfg = BenchConfig(
            base_url=base_url,
            model=model,
            api_key=api_key,
            max_tokens=max_tokens,
            temperature=temperature,
            ignore_eos=ignore_eos,
            request_timeout=request_timeout,
            distinct_prompts=distinct_prompts,
        )
        for i in range(warmup):
            msgs = [{"role": "user", "content": PROMPTS[i % len(PROMPTS)]}]
            await stream_chat(client, cfg, msgs)
        levels: list[dict[str, Any]] = []
        for c in levels_wanted:
            if log:
                print(
                    f"  concurrency {c}: {num_prompts} requests ...",
                    file=sys.stderr,
                    flush=True,
                )
            levels.append(await run_level(client, cfg, c, num_prompts))
        mt: dict[str, Any] | None = None
        if multi_turn is not None:
            k, t = multi_turn
            if log:
                print(
                    f"  multi-turn: {k} conversations x {t} turns ...",
                    file=sys.stderr,
                    flush=True,
                )
            mt = await run_multi_turn(client, cfg, k, t)
    cfg_out = asdict(cfg)
    cfg_out.pop("api_key", None)
    return {
        "config": cfg_out,
        "num_prompts": num_prompts,
        "levels": levels,
        "multi_turn": mt,
    }


def fmt(value: float | None, digits: int = 1) -> str:
    """Format a number for the tables ('-' when missing)."""
    if value is None:
        return "-"
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}f}"


def render_table(header: list[str], rows: list[list[str]]) -> str:
    """Plain-text table: first column left-aligned, the others right-aligned."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest])

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), sep, *(line(r) for r in rows)])


def format_report(result: dict[str, Any]) -> str:
    """Human-readable report of one ``run_benchmark`` result."""
    cfg = result["config"]
    settings = (
        f"model={cfg['model']}  base_url={cfg['base_url']}  "
        f"max_tokens={cfg['max_tokens']}  temperature={cfg['temperature']}  "
        f"ignore_eos={cfg['ignore_eos']}  prompts/level={result['num_prompts']}"
    )
    out = [settings, ""]
    header = [
        "conc",
        "req/s",
        "out tok/s",
        "TTFT p50",
        "TTFT p99",
        "TPOT p50",
        "TPOT p99",
        "ITL p50",
        "ITL p99",
        "out tok/req",
        "failed",
    ]
    rows = [
        [
            str(lv["concurrency"]),
            fmt(lv["request_throughput"], 2),
            fmt(lv["output_throughput"]),
            fmt(lv["ttft_ms"]["p50"]),
            fmt(lv["ttft_ms"]["p99"]),
            fmt(lv["tpot_ms"]["p50"], 2),
            fmt(lv["tpot_ms"]["p99"], 2),
            fmt(lv["itl_ms"]["p50"], 2),
            fmt(lv["itl_ms"]["p99"], 2),
            fmt(lv["mean_output_tokens"]),
            str(lv["failed"]),
        ]
        for lv in result["levels"]
    ]
    if rows:
        out.append("Latencies in ms (TTFT: time to first token, TPOT: per output token after")
        out.append("the first, per request; ITL: gaps between streamed chunks).")
        out.append(render_table(header, rows))
        completed = sum(lv["completed"] for lv in result["levels"])
        from_usage = sum(lv["usage_reported"] for lv in result["levels"])
        out.append(
            f"Output tokens from usage.completion_tokens for {from_usage} of "
            f"{completed} requests (the rest: number of content chunks)."
        )
        for lv in result["levels"]:
            for err in lv["errors"]:
                out.append(f"  conc {lv['concurrency']} error: {err}")
    mt = result.get("multi_turn")
    if mt:
        out.append("")
        out.append(
            f"Multi-turn: {mt['conversations']} conversations x {mt['turns']} turns, "
            f"output {fmt(mt['output_throughput'])} tok/s, failed {mt['failed']}, "
            f"skipped turns {mt['skipped_turns']}, {fmt(mt['duration_s'])} s"
        )
        mt_rows = [
            [
                str(row["turn"]),
                str(row["completed"]),
                fmt(row["ttft_ms_mean"]),
                fmt(row["prompt_tokens_mean"]),
                fmt(row["cached_tokens_mean"]),
                fmt(row["output_tokens_mean"]),
            ]
            for row in mt["per_turn"]
        ]
        out.append(
            render_table(
                ["turn", "ok", "TTFT mean ms", "prompt tok", "cached tok", "out tok"],
                mt_rows,
            )
        )
        for err in mt["errors"]:
            out.append(f"  multi-turn error: {err}")
    return "\n".join(out)


def parse_int_list(text: str) -> list[int]:
    values = [int(v) for v in text.split(",") if v.strip()]
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError("expected a comma-separated list of positive integers")
    return values


def parse_multi_turn(text: str) -> tuple[int, int]:
    values = parse_int_list(text)
    if len(values) != 2:
        raise argparse.ArgumentTypeError("expected K,T (conversations,turns)")
    return values[0], values[1]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--base-url", default="http://127.0.0.1:8000/v1")
    p.add_argument("--model", default=None, help="default: first id of GET /v1/models")
    p.add_argument(
        "--api-key",
        default=os.environ.get("OPENAI_API_KEY"),
        help="Bearer key (default: $OPENAI_API_KEY)",
    )
    p.add_argument("--concurrency", type=parse_int_list, default=[1, 4, 8, 16])
    p.add_argument("--num-prompts", type=int, default=32, help="requests per concurrency level")
    p.add_argument("--max-tokens", type=int, default=128)
    p.add_argument("--temperature", type=float, default=0.0)
    p.add_argument("--ignore-eos", action="store_true", help='send "ignore_eos": true')
    p.add_argument(
        "--distinct-prompts",
        action="store_true",
        help="no prompt repeats across levels (only the system prompt can be cached)",
    )
    p.add_argument(
        "--multi-turn",
        type=parse_multi_turn,
        default=None,
        metavar="K,T",
        help="also run K conversations at once, T turns each",
    )
    p.add_argument(
        "--no-levels",
        action="store_true",
        help="skip the concurrency levels (e.g. only run --multi-turn)",
    )
    p.add_argument("--warmup", type=int, default=1, help="untimed warm-up requests")
    p.add_argument("--request-timeout", type=float, default=300.0, help="seconds per request")
    p.add_argument("--json", dest="json_out", default=None, metavar="OUT.json")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result = asyncio.run(
        run_benchmark(
            args.base_url,
            model=args.model,
            api_key=args.api_key,
            concurrency=[] if args.no_levels else args.concurrency,
            num_prompts=args.num_prompts,
            max_tokens=args.max_tokens,
            temperature=args.temperature,
            ignore_eos=args.ignore_eos,
            multi_turn=args.multi_turn,
            warmup=args.warmup,
            request_timeout=args.request_timeout,
            distinct_prompts=args.distinct_prompts,
        )
    )
    print(format_report(result))
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as fh:
            json.dump(result, fh, indent=2)
        print(f"\nwrote {args.json_out}")
    failed = sum(lv["failed"] for lv in result["levels"])
    if result["multi_turn"]:
        failed += result["multi_turn"]["failed"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
