"""OpenTelemetry traces: on when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, exported over OTLP/HTTP with the
SDK's standard variables (`OTEL_SERVICE_NAME`, headers, sampler, ...); off and
free otherwise: every place that would make a span asks `active()` first and
does nothing more when it says no.

A notification's trace is the request that accepted it (continuing an incoming
W3C `traceparent`), the publish to the queue, and, through the `traceparent`
the queue message carries, its delivery and the provider call. A worker's batch
is a span of its own that links to each notification's trace rather than
joining them all into one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping

from opentelemetry import context, trace
from opentelemetry.trace import Link, Span, SpanKind, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
PROPAGATOR = TraceContextTextMapPropagator()
_state = {"active": False}

__all__ = ["Link", "Span", "SpanKind", "active", "configure", "current_traceparent"]


def active() -> bool:
    return _state["active"]


def wanted() -> bool:
    """Whether an OTLP endpoint is configured (or tests trace in memory)."""
    return _state["active"] or any(os.environ.get(name) for name in ENDPOINT_VARIABLES)


def configure(service: str = "clarion") -> bool:
    """Export spans over OTLP when an endpoint is configured; True if tracing is on."""
    if not wanted():
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    name = os.environ.get("OTEL_SERVICE_NAME", service)
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _state["active"] = True
    return True


def use_provider(provider: trace.TracerProvider) -> None:
    """Trace into a provider the caller made (tests: an in-memory exporter)."""
    trace.set_tracer_provider(provider)
    _state["active"] = True


def use_provider_again() -> None:
    """Trace again into the provider set before (tests)."""
    _state["active"] = True


def turn_off() -> None:
    _state["active"] = False


def tracer() -> Tracer:
    return trace.get_tracer("clarion")


def current_traceparent() -> str | None:
    """The current span's context as a W3C `traceparent`, to carry in a message."""
    if not active():
        return None
    carrier: dict[str, str] = {}
    PROPAGATOR.inject(carrier)
    return carrier.get("traceparent")


def extracted(headers: Mapping[str, str]) -> context.Context:
    """The context an incoming `traceparent` names (empty when it names none)."""
    return PROPAGATOR.extract(carrier=dict(headers))


def context_of(traceparent: str | None) -> context.Context | None:
    if not traceparent:
        return None
    found = PROPAGATOR.extract(carrier={"traceparent": traceparent})
    span = trace.get_current_span(found)
    return found if span.get_span_context().is_valid else None


def new_trace() -> context.Context:
    """A context with no span in it: what starts a trace of its own."""
    return context.Context()


def link_to(traceparent: str | None) -> Link | None:
    found = context_of(traceparent)
    if found is None:
        return None
    return Link(trace.get_current_span(found).get_span_context())


def inject(carrier: MutableMapping[str, str]) -> None:
    PROPAGATOR.inject(carrier)
