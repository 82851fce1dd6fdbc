"""The `datetime` tool: the current date and time, in the user's time zone or in the IANA
zone the model names (zoneinfo); an unknown zone is a clear error, never a guess.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from causerie.chat.tools.base import RunTool, Tool, ToolContext, ToolInputError, text_arg


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ToolInputError(
            f"unknown time zone '{name}'; use an IANA name such as Europe/Paris or UTC"
        ) from None


def valid_zone(name: str) -> bool:
    try:
        zone(name)
    except ToolInputError:
        return False
    return True


def describe(now: datetime) -> str:
    return (
        f"{now.strftime('%A %d %B %Y, %H:%M:%S')} ({now.tzname()}, UTC{now.strftime('%z')}); "
        f"ISO 8601: {now.isoformat(timespec='seconds')}"
    )


def make_run(clock: Callable[[], datetime]) -> RunTool:
    async def run(args: dict[str, Any], context: ToolContext) -> str:
        name = text_arg(args, "timezone", required=False, most=64).strip() or context.timezone
        return describe(clock().astimezone(zone(name)))

    return run


DATETIME = Tool(
    name="datetime",
    title="tools.datetime",
    description="The current date and time, optionally in an IANA time zone (e.g. Asia/Tokyo).",
    parameters={
        "type": "object",
        "properties": {
            "timezone": {"type": "string", "description": "IANA time zone; default: the user's"}
        },
    },
    run=make_run(lambda: datetime.now(UTC)),
)
