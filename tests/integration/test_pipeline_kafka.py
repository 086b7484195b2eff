"""The same pipeline with Kafka (a real Tansu broker) as the queue."""

import asyncio
import time

import httpx

from clarion.api.app import create_app
from clarion.bootstrap import build_container
from tests.conftest import make_settings
from tests.support.apps import signed_in_admin
from tests.support.kafka import TansuBroker


async def test_notifications_travel_through_kafka_to_the_sandbox(
    database_url: str, kafka_broker: TansuBroker
) -> None:
    settings = make_settings(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_broker.bootstrap,
        kafka_partitions=3,
    )
    container = build_container(settings)
    app = create_app(container=container, workers=True)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://clarion.test") as http,
        ):
            admin, admin_id = await signed_in_admin(http, container, "kafka@example.com")
            ready = (await http.get("/health/readiness")).json()
            assert ready["components"]["queue"]["kind"] == "kafka"
            assert ready["components"]["queue"]["status"] == "up"
            items = [
                {
                    "userId": str(admin_id),
                    "channel": "IN_APP",
                    "type": "ALERT",
                    "priority": priority,
                    "payload": {"title": "t", "body": "b"},
                }
                for priority in ("LOW", "MEDIUM", "HIGH", "URGENT") * 5
            ]
            created = await http.post(
                "/notifications/batch", headers=admin, json={"notifications": items}
            )
            ids = [r["notification"]["id"] for r in created.json()["results"]]
            deadline = time.monotonic() + 30  # the first consumer joins its group first
            statuses: list[str] = []
            while time.monotonic() < deadline:
                statuses = [
                    (await http.get(f"/notifications/{i}", headers=admin)).json()["status"]
                    for i in ids
                ]
                if set(statuses) == {"SENT"}:
                    break
                await asyncio.sleep(0.2)
            assert statuses == ["SENT"] * 20
            sandbox = (await http.get("/admin/sandbox/messages?limit=50", headers=admin)).json()
            assert {m["notificationId"] for m in sandbox} >= set(ids)
    finally:
        await container.close()
