"""OpenTelemetry traces: a notification POSTed with a `traceparent` gives one
trace holding the request, the publish, the delivery and the provider call, on
the embedded queue and through Kafka."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from clarion.observability import tracing
from tests.conftest import make_settings
from tests.support.apps import running, signed_in_admin
from tests.support.kafka import TansuBroker

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
INCOMING = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
_exporter: list[InMemorySpanExporter] = []


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Tracing on, into memory, for this test only (the provider is the
    process's one: it is made once)."""
    if not _exporter:
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        tracing.use_provider(provider)
        _exporter.append(exporter)
    exporter = _exporter[0]
    exporter.clear()
    tracing.use_provider_again()
    try:
        yield exporter
    finally:
        tracing.turn_off()


@pytest.fixture(params=["embedded", "kafka"])
async def stack(
    request: pytest.FixtureRequest, database_url: str, spans: InMemorySpanExporter
) -> AsyncIterator[Any]:
    extra: dict[str, Any] = {}
    if request.param == "kafka":
        broker: TansuBroker = request.getfixturevalue("kafka_broker")
        extra = {"kafka_bootstrap_servers": broker.bootstrap, "kafka_partitions": 1}
    settings = make_settings(database_url=database_url, **extra)
    async with running(settings, workers=True) as (http, container):
        admin, admin_id = await signed_in_admin(http, container, "traced@example.com")
        yield http, admin, str(admin_id), spans


async def sent(http: httpx.AsyncClient, admin: dict[str, str], nid: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        status = (await http.get(f"/notifications/{nid}", headers=admin)).json()["status"]
        if status == "SENT":
            return
        assert time.monotonic() < deadline, status
        await asyncio.sleep(0.05)


def named(found: list[ReadableSpan], kind: SpanKind, prefix: str) -> list[ReadableSpan]:
    return [s for s in found if s.kind is kind and s.name.startswith(prefix)]


async def test_one_notification_is_one_trace_from_request_to_provider(stack: Any) -> None:
    http, admin, admin_id, spans = stack
    body = {
        "userId": admin_id,
        "channel": "EMAIL",
        "type": "TRANSACTIONAL",
        "payload": {"subject": "Traced", "body": "end to end"},
    }
    response = await http.post(
        "/notifications", headers={**admin, "traceparent": INCOMING}, json=body
    )
    assert response.status_code == 201, response.text
    await sent(http, admin, response.json()["id"])
    await asyncio.sleep(0.2)  # the last spans end as the batch finishes
    ours = [s for s in spans.get_finished_spans() if f"{s.context.trace_id:032x}" == TRACE_ID]
    [server] = named(ours, SpanKind.SERVER, "POST /notifications")
    [publish] = named(ours, SpanKind.PRODUCER, "publish")
    [deliver] = named(ours, SpanKind.CONSUMER, "deliver")
    [provider] = named(ours, SpanKind.CLIENT, "send")
    assert server.parent is not None
    assert f"{server.parent.span_id:016x}" == "00f067aa0ba902b7"
    assert publish.parent is not None
    assert publish.parent.span_id == server.context.span_id
    assert deliver.parent is not None
    assert deliver.parent.span_id == publish.context.span_id
    assert provider.parent is not None
    assert provider.parent.span_id == deliver.context.span_id
    assert any(s.kind is SpanKind.CLIENT and s.name.startswith("db ") for s in ours)
    # the worker's batch is a trace of its own, linked to the notification's
    batches = [s for s in spans.get_finished_spans() if s.name == "deliver batch"]
    assert any(
        f"{link.context.trace_id:032x}" == TRACE_ID for batch in batches for link in batch.links
    )


async def test_tracing_off_makes_no_spans(database_url: str, spans: InMemorySpanExporter) -> None:
    tracing.turn_off()  # the provider stays: any span made anyway would reach `spans`
    async with running(make_settings(database_url=database_url), workers=True) as (http, container):
        admin, admin_id = await signed_in_admin(http, container, "untraced@example.com")
        body = {
            "userId": str(admin_id),
            "channel": "EMAIL",
            "type": "TRANSACTIONAL",
            "payload": {"subject": "Untraced", "body": "."},
        }
        response = await http.post(
            "/notifications", headers={**admin, "traceparent": INCOMING}, json=body
        )
        await sent(http, admin, response.json()["id"])
    assert spans.get_finished_spans() == ()
    assert tracing.current_traceparent() is None
