"""Correlation ids: every request gets one, answers with it, and logs with it.

The id is the caller's `X-Correlation-ID` (else `X-Request-ID`) when it is a
sane token, else a new one: an id that could break a log line or a header is
replaced, never echoed. It is bound into every log line of the request, stored
in accepted notifications' metadata (routers/notifications.py) and carried by
their queue messages to the worker's lines. This middleware also writes the
request's access line and makes the request's log-sampling decision.
"""

from __future__ import annotations

import re
import time
import uuid

from starlette.types import Message, Receive, Scope, Send

from clarion.api.middleware import HttpMiddleware
from clarion.observability.context import begin_request, end_scope, writes_info
from clarion.observability.logging import get_logger

log = get_logger("clarion.api.access")

HEADER = b"x-correlation-id"
FALLBACK_HEADER = b"x-request-id"
SANE = re.compile(rb"[A-Za-z0-9._:-]{1,128}")


def incoming_id(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The caller's id: X-Correlation-ID if given, else X-Request-ID; None unless sane."""
    given: bytes | None = None
    for name, value in headers:
        if name == HEADER:
            given = value
            break
        if name == FALLBACK_HEADER and given is None:
            given = value
    if given is None or SANE.fullmatch(given) is None:
        return None
    return given.decode("ascii")


class CorrelationIds(HttpMiddleware):
    """Outermost: the id is on every answer, refusals and errors included."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        correlation_id = incoming_id(scope["headers"]) or uuid.uuid4().hex
        header = (HEADER, correlation_id.encode("ascii"))
        status = 500  # what the server answers when the app fails before starting

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        request = begin_request(correlation_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            failed = status >= 500
            if failed or writes_info():  # a sampled-out request costs no line at all
                (log.error if failed else log.info)(
                    "http.request",
                    method=scope["method"],
                    path=scope["path"],  # never the query: it can hold tokens (unsubscribe)
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 2),
                )
            end_scope(request)
