"""Tools in prompts: the generic format for templates that do not know tools, and the
model's own template when it renders `tools` itself."""

from __future__ import annotations

import json

from causerie.core.types import Message, ToolCall, ToolSpec
from causerie.engine.templates import ChatTemplate
from causerie.engine.toolprompt import generic_messages

WEATHER = ToolSpec("get_weather", "Weather in a city.", '{"type": "object"}')
CALL = ToolCall("call_1", "get_weather", '{"city": "Paris"}')
TURNS = [
    Message("user", "Weather in Paris?"),
    Message("assistant", "", tool_calls=(CALL,)),
    Message("tool", '{"sky": "sunny"}', tool_call_id="call_1"),
    Message("tool", '{"wind": 3}', tool_call_id="call_2"),
]


def test_generic_format_lists_tools_calls_and_results() -> None:
    out = generic_messages(TURNS, [WEATHER])
    assert [m.role for m in out] == ["system", "user", "assistant", "user"]
    assert "<tools>" in out[0].content
    assert json.dumps({"name": "get_weather", "description": "Weather in a city.",
                       "parameters": {"type": "object"}}) in out[0].content  # fmt: skip
    assert out[2].content == (
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'
    )
    assert out[3].content == (
        '<tool_response>\n{"sky": "sunny"}\n</tool_response>\n'
        '<tool_response>\n{"wind": 3}\n</tool_response>'
    )


def test_generic_format_extends_an_existing_system_prompt() -> None:
    out = generic_messages([Message("system", "Be brief."), Message("user", "Hi")], [WEATHER])
    assert out[0].content.startswith("Be brief.\n\n# Tools")
    assert len(out) == 2


def test_chatml_template_gets_the_generic_format() -> None:
    text = ChatTemplate(None).render(TURNS, tools=[WEATHER])
    assert text.startswith("<|im_start|>system\n# Tools")
    assert "<|im_start|>tool" not in text
    assert "<tool_response>" in text and text.endswith("<|im_start|>assistant\n")


def test_a_template_that_knows_tools_renders_them_itself() -> None:
    source = (
        "{% for t in tools or [] %}[{{ t.function.name }}]{% endfor %}"
        "{% for m in messages %}<{{ m.role }}>{{ m.content }}"
        "{% for c in m.tool_calls or [] %}{{ c.function.name }}{{ c.function.arguments.city }}"
        "{% endfor %}{{ m.tool_call_id or '' }}{% endfor %}"
    )
    text = ChatTemplate(source).render(TURNS[:3], tools=[WEATHER])
    assert text == (
        '[get_weather]<user>Weather in Paris?<assistant>get_weatherParis<tool>{"sky": "sunny"}call_1'
    )
