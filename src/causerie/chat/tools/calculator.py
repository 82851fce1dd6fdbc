"""The `calculator` tool: arithmetic evaluated by walking Python's `ast`, never `eval`.

Numbers, + - * / // % **, unary signs, parentheses, and the functions and constants of
MATH_NAMES only. Powers and results are bounded, so `9**9**9` is refused, not computed.
"""

from __future__ import annotations

import ast
import asyncio
import math
import operator
from collections.abc import Callable
from typing import Any

from causerie.chat.tools.base import Tool, ToolContext, ToolInputError, text_arg

MAX_EXPONENT = 1000
MAX_DIGITS = 400  # an integer result may have at most this many digits
MAX_NODES = 200

Number = int | float
_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_FUNCTIONS: dict[str, Callable[..., Any]] = {
    name: getattr(math, name)
    for name in (
        "sqrt", "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "sinh", "cosh", "tanh",
        "exp", "log", "log10", "log2", "floor", "ceil", "fabs", "hypot", "degrees", "radians",
        "gcd", "lcm",
    )
}  # fmt: skip
_FUNCTIONS.update({"abs": abs, "round": round, "min": min, "max": max})
_CONSTANTS: dict[str, Number] = {"pi": math.pi, "e": math.e, "tau": math.tau, "inf": math.inf}
_SMALL_ARGS = {"factorial": 170}
MAX_ROUND_DIGITS = 400
_FUNCTIONS["factorial"] = math.factorial


def _check(value: Any) -> Number:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ToolInputError("the result is not a number")
    if isinstance(value, int) and abs(value) >= 10**MAX_DIGITS:
        raise ToolInputError(f"the result has more than {MAX_DIGITS} digits")
    return value


def _power(base: Number, exponent: Number) -> Number:
    if abs(exponent) > MAX_EXPONENT:
        raise ToolInputError(f"exponents above {MAX_EXPONENT} are refused")
    whole = isinstance(base, int) and isinstance(exponent, int)
    if whole and exponent > 0 and abs(base) > 1 and exponent * math.log10(abs(base)) > MAX_DIGITS:
        raise ToolInputError(f"the result would have more than {MAX_DIGITS} digits")
    result: Number = base**exponent
    if isinstance(result, complex):
        raise ToolInputError("the result is not a real number")
    return result


def _eval(node: ast.AST) -> Number:
    if isinstance(node, ast.Expression):
        return _eval(node.body)
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise ToolInputError(f"'{node.value!r}' is not a number")
        return _check(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd | ast.USub):
        value = _eval(node.operand)
        return _check(-value if isinstance(node.op, ast.USub) else value)
    if isinstance(node, ast.BinOp):
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow):
            return _check(_power(left, right))
        operation = _BINARY.get(type(node.op))
        if operation is None:
            raise ToolInputError(f"the operator {type(node.op).__name__} is not supported")
        return _check(operation(left, right))
    if isinstance(node, ast.Name):
        if node.id not in _CONSTANTS:
            raise ToolInputError(f"unknown name '{node.id}'")
        return _CONSTANTS[node.id]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        function = _FUNCTIONS.get(node.func.id)
        if function is None:
            raise ToolInputError(f"unknown function '{node.func.id}'")
        args = [_eval(a) for a in node.args]
        limit = _SMALL_ARGS.get(node.func.id)
        if limit is not None and any(abs(a) > limit for a in args):
            raise ToolInputError(f"{node.func.id}() is limited to arguments up to {limit}")
        # round(x, -n) builds 10**n in full: a huge n would hold the CPU for hours
        if node.func.id == "round" and len(args) > 1 and abs(args[1]) > MAX_ROUND_DIGITS:
            raise ToolInputError(f"round() keeps at most {MAX_ROUND_DIGITS} digits")
        return _check(function(*args))
    raise ToolInputError(f"'{ast.unparse(node)}' is not arithmetic")


def evaluate(expression: str) -> Number:
    """The value of `expression`; ToolInputError says what is wrong with it."""
    text = expression.strip().replace("^", "**").replace("×", "*").replace("÷", "/")
    if not text:
        raise ToolInputError("the expression is empty")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        raise ToolInputError(f"'{expression}' is not a valid expression") from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise ToolInputError("the expression is too long")
    try:
        return _eval(tree)
    except ZeroDivisionError:
        raise ToolInputError("division by zero") from None
    except (OverflowError, ValueError, TypeError) as exc:
        raise ToolInputError(f"cannot compute it: {exc}") from None


def show(value: Number) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


async def _run(args: dict[str, Any], context: ToolContext) -> str:
    expression = text_arg(args, "expression", most=1000)
    value = await asyncio.to_thread(evaluate, expression)  # bounded, but off the event loop
    return f"{expression.strip()} = {show(value)}"


CALCULATOR = Tool(
    name="calculator",
    title="tools.calculator",
    description=(
        "Evaluate an arithmetic expression exactly: numbers, + - * / // % **, parentheses, "
        "functions like sqrt, sin, cos, log, exp, factorial and constants pi, e."
    ),
    parameters={
        "type": "object",
        "properties": {
            "expression": {
                "type": "string",
                "description": "e.g. (2 + 3) * sqrt(16)",
                # enforced by the grammar of a forced call: keeps small models brief
                "pattern": "^[0-9a-z(-][0-9a-z.+*/%^(), -]{0,159}$",
            }
        },
        "required": ["expression"],
    },
    run=_run,
)
