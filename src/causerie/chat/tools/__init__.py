"""Chat tools the user enables per conversation: calculator, datetime, documents, python.

`registry` lists them and runs one call to a result text; each tool lives in its own
module (`base` defines what a tool is).
"""

from causerie.chat.tools.base import Tool, ToolContext, ToolInputError
from causerie.chat.tools.registry import TOOLS, check_names, get_tool, run_call, tool_spec

__all__ = [
    "TOOLS",
    "Tool",
    "ToolContext",
    "ToolInputError",
    "check_names",
    "get_tool",
    "run_call",
    "tool_spec",
]
