"""One error shape for every failure: `{"status", "code", "message", "details"}`.

Handlers never echo the rejected input (it may hold a password) and never show
an exception's text or traceback. An unexpected error is logged as one line
with its type and location at ERROR (its text may hold SQL and bound
parameters, so it is never logged); the traceback only at DEBUG.
"""

from __future__ import annotations

import re
import traceback
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import Message, Receive, Scope, Send

from clarion.api.middleware import HttpMiddleware
from clarion.domain.enums import Channel
from clarion.domain.errors import ClarionError
from clarion.observability.logging import get_logger

log = get_logger(__name__)

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


def error_body(
    status: int, code: str, message: str, details: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {"status": status, "code": code, "message": message, "details": details or []}


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error_body(status, code, message, details), status, headers=headers)


def error_path(loc: tuple[str | int, ...], kind: str) -> str:
    """A field path without the union's channel tag; a bad channel names `channel`."""
    parts = [str(part) for part in loc]
    if parts and parts[0] in CHANNEL_TAGS:
        parts = parts[1:]
    if not parts and kind.startswith("union_tag"):
        return "channel"
    return ".".join(parts)


# the tags of the notification union, which pydantic puts in error paths
CHANNEL_TAGS = {channel.value for channel in Channel} | {
    f"{channel.value}+template" for channel in Channel
}


def field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    details = []
    for error in exc.errors():
        location, *path = error["loc"]
        details.append(
            {
                "location": str(location),
                "field": error_path(tuple(path), error["type"]),
                "message": error["msg"],
                "type": error["type"],
            }
        )
    return details


async def on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    if any(error["type"] == "json_invalid" for error in exc.errors()):
        return error_response(400, "invalid_json", "The request body is not valid JSON.")
    return error_response(
        422, "validation_error", "The request has invalid fields.", field_errors(exc)
    )


async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    if status == 404 and exc.detail == HTTPStatus.NOT_FOUND.phrase:
        message = f"No route matches {request.method} {request.url.path}."
    elif status == 405:
        message = f"{request.method} is not allowed on {request.url.path}."
        return error_response(
            405,
            "method_not_allowed",
            message,
            headers={"Allow": allowed_methods(request, (exc.headers or {}).get("Allow", ""))},
        )
    elif isinstance(exc.detail, str):
        message = exc.detail
    else:
        message = HTTPStatus(status).phrase
    code = CODES.get(status, HTTPStatus(status).phrase.lower().replace(" ", "_"))
    return error_response(status, code, message, headers=dict(exc.headers or {}))


async def on_clarion_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ClarionError)
    return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)


HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
UUID_SEGMENT = "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"


def path_pattern(template: str, parameters: list[dict[str, Any]]) -> re.Pattern[str]:
    uuids = {
        p["name"]
        for p in parameters
        if p.get("in") == "path" and p["schema"].get("format") == "uuid"
    }
    pattern = ""
    for literal, name in re.findall(r"([^{]*)(?:\{([^}]*)\})?", template):
        pattern += re.escape(literal)
        if name:
            pattern += UUID_SEGMENT if name in uuids else "[^/]+"
    return re.compile(pattern)


def allowed_methods(request: Request, fallback: str) -> str:
    """Every method served at this path, read from the API's own document (the
    router names only the first route that matched the path)."""
    methods: set[str] = set()
    for template, item in request.app.openapi().get("paths", {}).items():
        verbs = [verb for verb in item if verb in HTTP_METHODS]
        parameters = [p for verb in verbs for p in item[verb].get("parameters", [])]
        if path_pattern(template, parameters).fullmatch(request.url.path):
            methods |= {verb.upper() for verb in verbs}
    return ", ".join(sorted(methods)) if methods else fallback


def log_crash(scope: Scope, exc: BaseException) -> None:
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    log.error(
        "api.request.crashed",
        method=scope.get("method"),
        path=scope.get("path"),
        error_type=type(exc).__name__,
        where=f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}" if frame else None,
    )
    log.debug(
        "api.request.crash_traceback",
        traceback="".join(traceback.format_tb(exc.__traceback__)),
    )


class CatchUnexpected(HttpMiddleware):
    """Answers an unexpected error with a 500 in the error shape and logs it once.

    It sits inside Starlette's own error middleware, which would log the whole
    traceback (and the exception's text) through the server's logger."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            log_crash(scope, exc)
            if started:
                return  # the status is out; the server closes the connection
            response = error_response(500, "internal_error", "An unexpected error occurred.")
            await response(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(ClarionError, on_clarion_error)
    app.add_middleware(CatchUnexpected)
