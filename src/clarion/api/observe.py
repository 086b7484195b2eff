"""One middleware, outermost, for everything a request leaves behind: its
correlation id (in the answer's `X-Correlation-ID` and in every log line), its
log-sampling decision and access line, its metrics by route template (a path
no route matched counts as `unmatched`, so random paths cannot grow the number
of series) and, while tracing is on, its server span. One clock and one look
at the status serve them all."""

from __future__ import annotations

import contextlib
import time
import uuid

from starlette.types import Message, Receive, Scope, Send

from clarion.api import tracing as request_tracing
from clarion.api.correlation import HEADER, incoming_id
from clarion.api.middleware import HttpMiddleware
from clarion.observability import metrics, tracing
from clarion.observability.context import begin_request, end_scope, writes_info
from clarion.observability.logging import get_logger

log = get_logger("clarion.api.access")


class ObserveRequests(HttpMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        correlation_id = incoming_id(scope["headers"]) or uuid.uuid4().hex
        header = (HEADER, correlation_id.encode("ascii"))
        status = 500  # what the server answers when the app fails before starting

        async def answering(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        route: str | None = None
        request = begin_request(correlation_id)
        span_scope = (
            request_tracing.request_span(scope)
            if tracing.active()
            else contextlib.nullcontext(None)
        )
        try:
            with span_scope as span:
                try:
                    await self.app(scope, receive, answering)
                finally:
                    route = getattr(scope.get("route"), "path", None)
                    if span is not None:
                        request_tracing.close(span, scope["method"], route, status)
        finally:
            seconds = time.perf_counter() - started
            if metrics.recording():
                metrics.HTTP.observe(route or "unmatched", scope["method"], status, seconds)
            failed = status >= 500
            if failed or writes_info():  # a sampled-out request costs no line at all
                (log.error if failed else log.info)(
                    "http.request",
                    method=scope["method"],
                    path=scope["path"],  # never the query: it can hold tokens (unsubscribe)
                    status=status,
                    duration_ms=round(seconds * 1000, 2),
                )
            end_scope(request)
