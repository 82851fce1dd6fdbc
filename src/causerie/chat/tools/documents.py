"""The `documents` tool: search the user's own uploaded documents and return numbered
passages with their file names. The owner filter is inside the store's query.
"""

from __future__ import annotations

import asyncio
from typing import Any

from causerie.chat.retrieval import retrieve
from causerie.chat.tools.base import Tool, ToolContext, ToolInputError, clip, text_arg

BUDGET_CHARS = 3000


async def _run(args: dict[str, Any], context: ToolContext) -> str:
    query = text_arg(args, "query", most=500).strip()
    if not query:
        raise ToolInputError("the query is empty")
    passages = await asyncio.to_thread(
        retrieve, context.db, context.user_id, query, BUDGET_CHARS, None, context.embedder
    )
    if not passages:
        return f"No passage of the user's documents matches '{query}'."
    parts = []
    for number, passage in enumerate(passages, start=1):
        where = f" — {passage.heading}" if passage.heading else ""
        parts.append(f"[{number}] {passage.filename}{where}\n{passage.text.strip()}")
    return clip("\n\n".join(parts), BUDGET_CHARS + 500)


DOCUMENTS = Tool(
    name="documents",
    title="tools.documents",
    description="Search the user's uploaded documents; returns numbered passages with file names.",
    parameters={
        "type": "object",
        "properties": {"query": {"type": "string", "description": "words to look for"}},
        "required": ["query"],
    },
    run=_run,
)
