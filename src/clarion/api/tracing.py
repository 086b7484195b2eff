"""The HTTP server span of a request, continuing an incoming W3C
`traceparent` (api/observe.py opens it only while tracing is on)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from starlette.types import Scope

from clarion.observability import tracing


@contextmanager
def request_span(scope: Scope) -> Iterator[Span]:
    """The request's span, current while the app answers."""
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
    method = scope["method"]
    with tracing.tracer().start_as_current_span(
        method, context=tracing.extracted(headers), kind=SpanKind.SERVER
    ) as span:
        span.set_attribute("http.request.method", method)
        yield span


def close(span: Span, method: str, route: str | None, status: int) -> None:
    """What the span learns once the request is answered."""
    if route is not None:
        span.update_name(f"{method} {route}")
        span.set_attribute("http.route", route)
    span.set_attribute("http.response.status_code", status)
    if status >= 500:
        span.set_status(Status(StatusCode.ERROR))
