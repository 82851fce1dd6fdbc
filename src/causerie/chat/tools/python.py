"""The `python` tool: run code in the sandbox (chat/sandbox.py: its own process, no
network, CPU/memory/file/time limits, no access to Causerie's data directory) and report
exit status, stdout and stderr compactly.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from causerie.chat.sandbox import SandboxLimits, SandboxResult, run_python
from causerie.chat.tools.base import RunTool, Tool, ToolContext, ToolInputError, clip, text_arg

LIMITS = SandboxLimits(time_s=10.0, memory_bytes=512 << 20, output_chars=8000)
AT_ONCE = 2  # programs run at the same time per server; more would starve its threads


def report(result: SandboxResult, limits: SandboxLimits = LIMITS) -> str:
    if result.timed_out:
        head = f"timed out after {limits.time_s:g} s (killed)"
    else:
        head = f"exit code {result.exit_code}"
    parts = [head]
    if result.stdout:
        parts.append("stdout:\n" + clip(result.stdout.rstrip("\n"), 2500))
    if result.stderr:
        parts.append("stderr:\n" + clip(result.stderr.rstrip("\n"), 1200))
    if not result.stdout and not result.stderr:
        parts.append("(no output; print() what you want to see)")
    return "\n".join(parts)


def make_run(limits: SandboxLimits, at_once: int = AT_ONCE) -> RunTool:
    slots = threading.BoundedSemaphore(at_once)

    async def run(args: dict[str, Any], context: ToolContext) -> str:
        code = text_arg(args, "code", most=20_000)
        if not code.strip():
            raise ToolInputError("the code is empty")
        if not slots.acquire(blocking=False):
            raise ToolInputError(
                f"the server already runs {at_once} programs; try again in a few seconds"
            )
        try:
            result = await asyncio.to_thread(run_python, code, limits)
        finally:
            slots.release()
        return report(result, limits)

    return run


PYTHON = Tool(
    name="python",
    title="tools.python",
    description=(
        "Run Python 3 code in a sandbox (no network, no files outside its own folder, "
        "10 s limit) and get its printed output. Use print() to show results."
    ),
    parameters={
        "type": "object",
        "properties": {"code": {"type": "string", "description": "a complete Python program"}},
        "required": ["code"],
    },
    run=make_run(LIMITS),
)
