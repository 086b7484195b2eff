"""Correlation ids from the request to the worker's log line, on the embedded
queue and through Kafka, on both databases."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from confluent_kafka import Consumer

from clarion.api.app import create_app
from clarion.bootstrap import Container
from tests.conftest import make_settings
from tests.support.apps import running, serving, signed_in_admin
from tests.support.kafka import TansuBroker
from tests.support.logs import LogLines, json_logs

GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def logs() -> Iterator[LogLines]:
    with json_logs(sample_rate=1.0) as lines:
        yield lines


@pytest.fixture
async def serve(container: Container, logs: LogLines) -> AsyncIterator[Any]:
    """The app with its consumers running in-process, as `clarion serve` runs it."""
    async with serving(create_app(container=container, workers=True)) as http:
        admin, admin_id = await signed_in_admin(http, container, "ops@example.com")
        yield http, admin, str(admin_id)


def email(admin_id: str, to: str = "someone@example.com", **extra: Any) -> dict[str, Any]:
    return {
        "userId": admin_id,
        "channel": "EMAIL",
        "type": "ALERT",
        "payload": {"subject": "Hello", "body": "A body", "to": to},
        **extra,
    }


async def wait_for(
    http: httpx.AsyncClient, headers: dict[str, str], nid: str, status: str, within: float = 15
) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while True:
        body: dict[str, Any] = (await http.get(f"/notifications/{nid}", headers=headers)).json()
        if body["status"] == status or time.monotonic() > deadline:
            return body
        await asyncio.sleep(0.05)


async def worker_lines(logs: LogLines, event: str, nid: str, within: float = 5) -> list[Any]:
    """The outcome line is written just after the outcome is stored: allow a moment."""
    deadline = time.monotonic() + within
    while True:
        found = [line for line in logs.events(event) if line.get("notification_id") == nid]
        if found or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.05)


async def test_a_callers_id_is_answered_logged_stored_and_in_the_workers_line(
    serve: Any, logs: LogLines
) -> None:
    http, admin, admin_id = serve
    body = email(admin_id, metadata={"orderId": "42", "correlationId": "the caller's own"})
    created = await http.post(
        "/notifications", headers={**admin, "X-Correlation-ID": "order-42.a:1"}, json=body
    )
    assert created.status_code == 201, created.text
    assert created.headers["X-Correlation-ID"] == "order-42.a:1"
    nid = created.json()["id"]

    sent = await wait_for(http, admin, nid, "SENT")
    assert sent["status"] == "SENT"
    # the caller's metadata is kept; the id is the request's
    assert sent["metadata"] == {"orderId": "42", "correlationId": "order-42.a:1"}

    [access] = [line for line in logs.of("order-42.a:1") if line["event"] == "http.request"]
    assert access["method"] == "POST"
    assert access["path"] == "/notifications"
    assert access["status"] == 201
    assert access["duration_ms"] >= 0
    assert access["level"] == "info"

    [delivered] = await worker_lines(logs, "delivery.sent", nid)
    assert delivered["correlation_id"] == "order-42.a:1"
    assert delivered["channel"] == "EMAIL"
    assert delivered["provider"] == "sandbox"


async def test_every_item_of_a_batch_gets_the_requests_id(serve: Any, logs: LogLines) -> None:
    http, admin, admin_id = serve
    items = [email(admin_id, f"u{i}@example.com") for i in range(3)]
    created = await http.post(
        "/notifications/batch",
        headers={**admin, "X-Request-ID": "batch-7"},
        json={"notifications": items},
    )
    assert created.status_code == 200, created.text
    assert created.headers["X-Correlation-ID"] == "batch-7"
    ids = [r["notification"]["id"] for r in created.json()["results"]]
    for nid in ids:
        sent = await wait_for(http, admin, nid, "SENT")
        assert sent["metadata"] == {"correlationId": "batch-7"}
        [delivered] = await worker_lines(logs, "delivery.sent", nid)
        assert delivered["correlation_id"] == "batch-7"


async def test_a_scheduled_notification_keeps_the_id_through_the_sweeper(
    serve: Any, logs: LogLines
) -> None:
    """Its only publisher is the sweeper, which reads the id from the stored row."""
    http, admin, admin_id = serve
    # far enough ahead that a slow POST on a busy machine still finds it in the future
    due = (datetime.now(UTC) + timedelta(seconds=3)).isoformat()
    created = await http.post(
        "/notifications",
        headers={**admin, "X-Correlation-ID": "later-1"},
        json=email(admin_id, scheduledFor=due),
    )
    assert created.json()["status"] == "SCHEDULED"
    nid = created.json()["id"]
    assert (await wait_for(http, admin, nid, "SENT"))["status"] == "SENT"
    [delivered] = await worker_lines(logs, "delivery.sent", nid)
    assert delivered["correlation_id"] == "later-1"


async def test_new_metadata_from_an_edit_keeps_the_accepting_requests_id(serve: Any) -> None:
    http, admin, admin_id = serve
    due = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    created = await http.post(
        "/notifications",
        headers={**admin, "X-Correlation-ID": "first-1"},
        json=email(admin_id, scheduledFor=due),
    )
    nid = created.json()["id"]
    edited = await http.patch(
        f"/notifications/{nid}",
        headers={**admin, "X-Correlation-ID": "edit-1"},
        json={"metadata": {"campaign": "spring", "correlationId": "mine"}},
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["metadata"] == {"campaign": "spring", "correlationId": "first-1"}


async def test_without_an_id_one_is_made_and_used_the_same_way(serve: Any, logs: LogLines) -> None:
    http, admin, admin_id = serve
    created = await http.post("/notifications", headers=admin, json=email(admin_id))
    made = created.headers["X-Correlation-ID"]
    assert GENERATED.fullmatch(made)
    sent = await wait_for(http, admin, created.json()["id"], "SENT")
    assert sent["metadata"] == {"correlationId": made}
    assert "http.request" in [line["event"] for line in logs.of(made)]
    # another request, another id
    again = await http.get("/auth/me", headers=admin)
    assert again.headers["X-Correlation-ID"] != made


async def test_at_rate_zero_a_dead_letter_is_still_logged_and_a_sent_one_is_not(
    container: Container,
) -> None:
    with json_logs(sample_rate=0.0) as logs:
        async with serving(create_app(container=container, workers=True)) as http:
            admin, admin_id = await signed_in_admin(http, container, "quiet@example.com")
            ok, bad = [
                await http.post(
                    "/notifications",
                    headers={**admin, "X-Correlation-ID": f"quiet-{to.split('@')[0]}"},
                    json=email(str(admin_id), to),
                )
                for to in ("fine@example.com", "fail-permanent@example.com")
            ]
            assert (await wait_for(http, admin, ok.json()["id"], "SENT"))["status"] == "SENT"
            assert (await wait_for(http, admin, bad.json()["id"], "FAILED"))["status"] == "FAILED"
            [failed] = await worker_lines(logs, "delivery.failed", bad.json()["id"])
    assert failed["level"] == "warning"
    assert failed["correlation_id"] == "quiet-fail-permanent"
    assert logs.events("delivery.sent") == []
    assert logs.of("quiet-fine") == []


@pytest.mark.parametrize(
    "given",
    ["has spaces", "x" * 129, "<script>", "semi;colon", "", "naïve"],
)
async def test_an_insane_id_is_replaced_and_never_echoed(
    serve: Any, logs: LogLines, given: str
) -> None:
    http, admin, _ = serve
    answer = await http.get("/auth/me", headers={**admin, "X-Correlation-ID": given.encode()})
    assert answer.status_code == 200
    made = answer.headers["X-Correlation-ID"]
    assert GENERATED.fullmatch(made)
    access = [line["path"] for line in logs.of(made) if line["event"] == "http.request"]
    assert access == ["/auth/me"]
    if given:
        assert not any(given in json.dumps(line) for line in logs.all())


async def test_refusals_and_errors_answer_with_the_id(serve: Any) -> None:
    http, admin, _ = serve
    unauthenticated = await http.get("/notifications", headers={"X-Correlation-ID": "a1"})
    missing = await http.get(
        "/notifications/00000000-0000-0000-0000-000000000000",
        headers={**admin, "X-Correlation-ID": "a2"},
    )
    invalid = await http.post(
        "/notifications", headers={**admin, "X-Correlation-ID": "a3"}, json={"nope": 1}
    )
    too_big = await http.post(
        "/notifications",
        headers={**admin, "X-Correlation-ID": "a4", "Content-Type": "application/json"},
        content=b"[" + b"1," * 1_000_000 + b"1]",
    )
    answers = [unauthenticated, missing, invalid, too_big]
    assert [a.status_code for a in answers] == [401, 404, 422, 413]
    assert [a.headers["X-Correlation-ID"] for a in answers] == ["a1", "a2", "a3", "a4"]


@pytest.fixture
async def on_kafka(
    database_url: str, kafka_broker: TansuBroker, logs: LogLines
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str], str]]:
    settings = make_settings(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_broker.bootstrap,
        kafka_partitions=3,
        scheduler_interval_seconds=60.0,  # a retry comes back through the retry topic
    )
    async with running(settings, workers=True) as (http, container):
        admin, admin_id = await signed_in_admin(http, container, "kafka-ids@example.com")
        yield http, admin, str(admin_id)


async def test_the_id_travels_through_kafka_and_its_retry_topic(
    on_kafka: Any, kafka_broker: TansuBroker, logs: LogLines
) -> None:
    http, admin, admin_id = on_kafka
    created = await http.post(
        "/notifications",
        headers={**admin, "X-Correlation-ID": "kafka-trip-1"},
        json=email(admin_id, "fail-transient-1@example.com"),
    )
    assert created.status_code == 201, created.text
    nid = created.json()["id"]
    sent = await wait_for(http, admin, nid, "SENT", within=40)
    assert sent["status"] == "SENT"
    assert sent["metadata"] == {"correlationId": "kafka-trip-1"}

    first = await correlation_ids_on(kafka_broker, "notifications", nid)
    retried = await correlation_ids_on(kafka_broker, "notifications.retry", nid)
    assert set(first) == set(retried) == {"kafka-trip-1"}

    [retry] = await worker_lines(logs, "delivery.retry_scheduled", nid)
    [delivered] = await worker_lines(logs, "delivery.sent", nid)
    assert retry["correlation_id"] == delivered["correlation_id"] == "kafka-trip-1"
    assert (retry["attempt"], delivered["attempt"]) == (1, 2)


async def correlation_ids_on(broker: TansuBroker, topic: str, nid: str) -> list[str]:
    """metadata.correlationId of each message on `topic` for the notification."""
    reader = Consumer(
        {
            "bootstrap.servers": broker.bootstrap,
            "group.id": f"ids-{topic}-{nid}",
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000,
        }
    )
    reader.subscribe([topic])
    found: list[str] = []
    deadline = time.monotonic() + 30
    try:
        while not found and time.monotonic() < deadline:
            batch = await asyncio.to_thread(reader.consume, 100, 0.5)
            bodies = [json.loads(m.value()) for m in batch if m.error() is None]
            found += [b["metadata"]["correlationId"] for b in bodies if b["id"] == nid]
    finally:
        reader.close()
    return found
