"""The same pipeline with Kafka (a real Tansu broker) as the queue."""

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from confluent_kafka import Consumer

from tests.conftest import make_settings
from tests.support.apps import running, signed_in_admin
from tests.support.kafka import TansuBroker


@pytest.fixture
async def on_kafka(
    database_url: str, kafka_broker: TansuBroker
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str], str]]:
    """Clarion with Kafka as its queue and its workers running in-process."""
    settings = make_settings(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_broker.bootstrap,
        kafka_partitions=3,
    )
    async with running(settings, workers=True) as (http, container):
        admin, admin_id = await signed_in_admin(http, container, "kafka@example.com")
        yield http, admin, str(admin_id)


def in_app(user_id: str, priority: str) -> dict[str, Any]:
    return {
        "userId": user_id,
        "channel": "IN_APP",
        "type": "ALERT",
        "priority": priority,
        "payload": {"title": "t", "body": "b"},
    }


async def test_notifications_travel_through_kafka_to_the_sandbox(on_kafka: Any) -> None:
    http, admin, admin_id = on_kafka
    ready = (await http.get("/health/readiness")).json()
    assert ready["components"]["queue"]["kind"] == "kafka"
    assert ready["components"]["queue"]["status"] == "up"
    items = [in_app(admin_id, p) for p in ("LOW", "MEDIUM", "HIGH", "URGENT") * 5]
    created = await http.post("/notifications/batch", headers=admin, json={"notifications": items})
    ids = [r["notification"]["id"] for r in created.json()["results"]]
    deadline = time.monotonic() + 30  # the first consumer joins its group first
    statuses: list[str] = []
    while time.monotonic() < deadline:
        statuses = [
            (await http.get(f"/notifications/{i}", headers=admin)).json()["status"] for i in ids
        ]
        if set(statuses) == {"SENT"}:
            break
        await asyncio.sleep(0.2)
    assert statuses == ["SENT"] * 20
    inbox = (await http.get("/users/me/inbox?limit=50", headers=admin)).json()
    assert {n["id"] for n in inbox["items"]} >= set(ids)


async def test_dead_letters_are_announced_on_the_dlq_topic(
    on_kafka: Any, kafka_broker: TansuBroker
) -> None:
    http, admin, admin_id = on_kafka
    created = await http.post(
        "/notifications",
        headers=admin,
        json={
            "userId": admin_id,
            "channel": "EMAIL",
            "type": "ALERT",
            "payload": {"subject": "s", "body": "b", "to": "fail-permanent@example.com"},
        },
    )
    nid = created.json()["id"]
    found = await read_ids(kafka_broker, "notifications.dlq", nid, expect=1)
    assert nid in found
    dlq = (await http.get("/admin/dlq", headers=admin)).json()
    assert nid in {d["notification"]["id"] for d in dlq}


async def test_queue_stats_read_the_worker_groups_offsets(on_kafka: Any) -> None:
    http, admin, admin_id = on_kafka

    def committed(stats: dict[str, Any]) -> int:
        partitions = stats["transport"]["lanes"]["MEDIUM"]["partitions"]
        return sum(max(0, p["committed"]) for p in partitions)

    # the broker, its topics and the worker group outlive each test: count from here
    before = committed((await http.get("/admin/queue/stats", headers=admin)).json())
    items = [in_app(admin_id, "MEDIUM") for _ in range(6)]
    created = await http.post("/notifications/batch", headers=admin, json={"notifications": items})
    ids = [r["notification"]["id"] for r in created.json()["results"]]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        statuses = {
            (await http.get(f"/notifications/{i}", headers=admin)).json()["status"] for i in ids
        }
        if statuses == {"SENT"}:
            break
        await asyncio.sleep(0.2)
    assert statuses == {"SENT"}

    # outcomes are stored before offsets are committed: give the commit a moment
    deadline = time.monotonic() + 10
    while True:
        stats = (await http.get("/admin/queue/stats", headers=admin)).json()
        if committed(stats) - before >= len(ids) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    transport = stats["transport"]
    assert transport["kind"] == "kafka"
    assert transport["group"] == "notification-workers"
    assert transport["retry"]["group"] == "notification-workers.retry-relay"
    assert transport["retry"]["topic"] == "notifications.retry"
    assert len(transport["retry"]["partitions"]) == 3
    assert set(transport["lanes"]) == {"URGENT", "HIGH", "MEDIUM", "LOW"}
    medium = transport["lanes"]["MEDIUM"]
    assert medium["topic"] == "notifications"
    assert medium["group"] == "notification-workers"
    assert transport["lanes"]["URGENT"]["group"] == "notification-workers.urgent"
    assert len(medium["partitions"]) == 3
    # this test's six MEDIUM messages were committed by the workers
    assert committed(stats) - before >= len(ids)
    assert stats["backlog"]["MEDIUM"] == {"queued": 0, "waiting": 0, "processing": 0}


async def test_retries_travel_through_the_retry_topic(
    database_url: str, kafka_broker: TansuBroker
) -> None:
    """The sweeper looks only every 60 s here, so a retry sent within that
    time came back through `notifications.retry` and the relay."""
    settings = make_settings(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_broker.bootstrap,
        kafka_partitions=3,
        scheduler_interval_seconds=60.0,
    )
    async with running(settings, workers=True) as (http, container):
        admin, admin_id = await signed_in_admin(http, container, "retry@example.com")
        created = await http.post(
            "/notifications",
            headers=admin,
            json={
                "userId": str(admin_id),
                "channel": "EMAIL",
                "type": "ALERT",
                "payload": {"subject": "s", "body": "b", "to": "fail-transient-2@example.com"},
            },
        )
        nid = created.json()["id"]
        started = time.monotonic()
        status = ""
        while status != "SENT" and time.monotonic() - started < 40:
            await asyncio.sleep(0.2)
            status = (await http.get(f"/notifications/{nid}", headers=admin)).json()["status"]
        took = time.monotonic() - started
        events = (await http.get(f"/notifications/{nid}/events", headers=admin)).json()
    print(f"two retries, then SENT, after {took:.1f} s")
    assert status == "SENT"
    assert [e["type"] for e in events] == ["CREATED", "RETRIED", "RETRIED", "SENT"]
    on_topic = await read_ids(kafka_broker, "notifications.retry", nid, expect=2)
    assert on_topic.count(nid) == 2


async def read_ids(broker: TansuBroker, topic: str, wanted: str, *, expect: int) -> list[str]:
    """Ids of the messages on `topic`, read from the start by a group of its own."""
    reader = Consumer(
        {
            "bootstrap.servers": broker.bootstrap,
            "group.id": f"reader-{topic}-{wanted}",
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000,
        }
    )
    reader.subscribe([topic])
    found: list[str] = []
    deadline = time.monotonic() + 30
    try:
        while found.count(wanted) < expect and time.monotonic() < deadline:
            batch = await asyncio.to_thread(reader.consume, 100, 0.5)
            found += [json.loads(m.value())["id"] for m in batch if m.error() is None]
    finally:
        reader.close()
    return found
