"""Every error leaves the API in OpenAI's envelope: {"error": {message, type, param, code}}.

Handlers map `CauserieError`s, pydantic validation errors (400 naming the client's field
path), Starlette HTTP errors (404/405), a client that left (499, logged at info) and anything
unexpected (500, never a traceback).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from causerie.api.sse import ClientDisconnectedError
from causerie.core.errors import CauserieError, EngineOverloadedError, RateLimitError

log = logging.getLogger("causerie.api")
CLIENT_CLOSED_REQUEST = 499


def envelope(
    message: str, type_: str, *, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def error_body(exc: CauserieError) -> dict[str, Any]:
    return envelope(exc.message, exc.type, param=exc.param, code=exc.code)


def error_response(exc: CauserieError) -> JSONResponse:
    headers = {}
    if isinstance(exc, EngineOverloadedError | RateLimitError):
        headers["Retry-After"] = str(exc.retry_after)
    if exc.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(error_body(exc), status_code=exc.status, headers=headers)


# Where a request value comes from: FastAPI prefixes each error's location with it.
_SOURCES = {"body", "query", "path", "header", "cookie"}
# Tags pydantic puts in a location for each member of a union (`stop.str`, `list[str]`,
# `function-after[...]`, a model's class name): not part of the client's field path.
_BARE_TAGS = {"str", "int", "float", "bool", "bytes", "list", "dict", "none", "decimal"}
_CLASS_NAME = re.compile(r"[A-Z][A-Za-z0-9]*")


def _is_tag(part: Any) -> bool:
    if not isinstance(part, str):
        return False
    return "[" in part or "-" in part or part in _BARE_TAGS or bool(_CLASS_NAME.fullmatch(part))


def _path(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """The client's field path of an error location: no source, no union tags."""
    parts = loc[1:] if loc and loc[0] in _SOURCES else loc
    return tuple(p for p in parts if not _is_tag(p))


def _param(loc: tuple[Any, ...]) -> str | None:
    out = ""
    for part in _path(loc):
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or None


def _first_tag(loc: tuple[Any, ...]) -> int | None:
    return next((i for i, part in enumerate(loc) if _is_tag(part)), None)


def _pick(errors: list[dict[str, Any]]) -> dict[str, Any]:
    """The error to report. Where the first one comes from a union (`str | list[...]`),
    pydantic lists one error per member: report the most specific (the member whose shape
    matched), or, when every member refused the value's type, all they expected."""
    first = errors[0]
    loc = tuple(first.get("loc", ()))
    at = _first_tag(loc)
    if at is None:
        return first
    union = [e for e in errors if _first_tag(tuple(e["loc"])) == at and e["loc"][:at] == loc[:at]]
    deepest = max(len(_path(tuple(e["loc"]))) for e in union)
    best = [e for e in union if len(_path(tuple(e["loc"]))) == deepest]
    if len(best) == 1 or deepest > len(_path(loc[:at])):
        return best[0]
    wanted = dict.fromkeys(str(e.get("msg", "")).removeprefix("Input should be ") for e in best)
    return {**first, "loc": loc[:at], "msg": "Input should be " + " or ".join(wanted)}


def _validation_message(err: dict[str, Any], param: str | None) -> str:
    kind = err.get("type", "")
    if kind == "json_invalid":
        return "We could not parse the JSON body of your request: " + str(
            err.get("ctx", {}).get("error", "invalid JSON")
        )
    if kind == "missing" and param is None:
        return "The request needs a JSON body."
    if kind == "missing":
        return f"Missing required parameter: '{param}'."
    where = f"'{param}'" if param else "the request body"
    if kind == "string_unicode":
        return f"Invalid value for {where}: it is not valid Unicode text (an unpaired surrogate?)."
    message = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
    return f"Invalid value for {where}: {message.rstrip('.')}."


async def _on_causerie_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CauserieError)
    if exc.status >= 500:
        log.warning("%s: %s", type(exc).__name__, exc.message)
    return error_response(exc)


async def _on_validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    first = _pick(errors) if errors else {}
    param = _param(tuple(first.get("loc", ())))
    if first.get("type") == "json_invalid":
        param = None
    body = envelope(
        _validation_message(first, param), "invalid_request_error", param=param, code=None
    )
    return JSONResponse(body, status_code=400)


async def _on_http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    codes = {404: "not_found", 405: "method_not_allowed", 401: "invalid_api_key"}
    kind = "invalid_request_error" if exc.status_code < 500 else "server_error"
    body = envelope(str(exc.detail), kind, code=codes.get(exc.status_code))
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def _on_client_gone(request: Request, exc: Exception) -> Response:
    """The client left before its answer was ready: nobody to answer, nothing went wrong.
    499 (nginx's "client closed request") is what access logs and metrics see."""
    log.info("client disconnected before the answer to %s %s", request.method, request.url.path)
    return Response(status_code=CLIENT_CLOSED_REQUEST)


async def _on_unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error", exc_info=exc)
    body = envelope("The server had an error while processing your request.", "server_error")
    return JSONResponse(body, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(CauserieError, _on_causerie_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(ClientDisconnectedError, _on_client_gone)
    app.add_exception_handler(ClientDisconnect, _on_client_gone)  # left while uploading
    app.add_exception_handler(Exception, _on_unexpected)
