"""Every error leaves the API in OpenAI's envelope: {"error": {message, type, param, code}}.

Handlers map `CauserieError`s, pydantic validation errors (400 naming the param),
Starlette HTTP errors (404/405) and anything unexpected (500, never a traceback).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from causerie.core.errors import CauserieError, EngineOverloadedError, RateLimitError

log = logging.getLogger("causerie.api")


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


def _param(loc: tuple[Any, ...]) -> str | None:
    parts = [p for p in loc if p != "body"]
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif "[" in str(part) or "function-after" in str(part):
            continue
        else:
            out += f".{part}" if out else str(part)
    return out or None


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
    return f"Invalid value for {where}: {err.get('msg', 'invalid value')}."


async def _on_causerie_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CauserieError)
    if exc.status >= 500:
        log.warning("%s: %s", type(exc).__name__, exc.message)
    return error_response(exc)


async def _on_validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    first = errors[0] if errors else {}
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


async def _on_unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error", exc_info=exc)
    body = envelope("The server had an error while processing your request.", "server_error")
    return JSONResponse(body, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(CauserieError, _on_causerie_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)
