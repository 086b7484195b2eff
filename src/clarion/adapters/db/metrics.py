"""Database metrics and spans from SQLAlchemy's events: each statement's time
and failures by kind (SELECT, INSERT, UPDATE, DELETE, other) and, while tracing
is on, a client span per statement inside a traced request or delivery (never a
trace of its own). Connections checked out of the pools are read when metrics
are served, not counted on every checkout. With metrics off and no tracing
configured, no listener is installed: an engine with listeners takes SQLAlchemy's
slower execution path on every statement."""

from __future__ import annotations

import time
import weakref
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool, QueuePool

from clarion.observability import tracing
from clarion.observability.metrics import (
    DB_CONNECTIONS,
    DB_DURATION,
    DB_ERRORS,
    recording,
    sample_with,
)

KINDS = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")
STARTED = "clarion_started"
SPAN = "clarion_span"


def kind_of(statement: str) -> str:
    head = statement.lstrip()[:6].upper()
    for kind in KINDS:
        if head.startswith(kind):
            return "SELECT" if kind == "WITH" else kind
    return "OTHER"


_pools: weakref.WeakSet[Pool] = weakref.WeakSet()  # disposed engines drop out


def sample_connections() -> None:
    DB_CONNECTIONS.set(sum(pool.checkedout() for pool in _pools if isinstance(pool, QueuePool)))


def install(engine: Engine) -> None:
    """Listen on `engine` (a synchronous one: an async engine's `sync_engine`)."""
    _pools.add(engine.pool)
    sample_with(sample_connections)
    if not recording() and not tracing.wanted():
        return
    durations = {kind: DB_DURATION.labels(kind) for kind in (*KINDS[:4], "OTHER")}
    errors = {kind: DB_ERRORS.labels(kind) for kind in (*KINDS[:4], "OTHER")}

    system = engine.dialect.name

    def before(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if recording():
            conn.info[STARTED] = time.perf_counter()
        if tracing.active() and trace.get_current_span().is_recording():
            span = tracing.tracer().start_span(f"db {kind_of(statement)}", kind=SpanKind.CLIENT)
            span.set_attribute("db.system", system)
            span.set_attribute("db.operation.name", kind_of(statement))
            conn.info[SPAN] = span

    def after(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        started = conn.info.pop(STARTED, None)
        if started is not None:
            durations[kind_of(statement)].observe(time.perf_counter() - started)
        span = conn.info.pop(SPAN, None)
        if span is not None:
            span.end()

    def failed(context: Any) -> None:
        errors[kind_of(context.statement or "")].inc()
        span = context.connection.info.pop(SPAN, None) if context.connection else None
        if span is not None:
            span.set_status(Status(StatusCode.ERROR))
            span.end()

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    event.listen(engine, "handle_error", failed)
