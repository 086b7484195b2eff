"""`GET /metrics`: the Prometheus exposition, counting what a user would count,
with no user, address or notification id in any label."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from clarion.api import metrics as api_metrics
from clarion.bootstrap import Container
from clarion.observability import metrics
from tests.conftest import make_settings
from tests.support.apps import running, signed_in_admin
from tests.support.identity import admin_creates_user
from tests.support.notifications import all_settled

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def total(found: Samples, name: str, **labels: str) -> float:
    wanted = set(labels.items())
    return sum(v for (n, ls), v in found.items() if n == name and wanted <= set(ls))


async def scrape(http: httpx.AsyncClient, headers: dict[str, str] | None = None) -> Samples:
    response = await http.get("/metrics", headers=headers or {})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


@pytest.fixture
async def stack(database_url: str) -> AsyncIterator[Any]:
    settings = make_settings(database_url=database_url)
    async with running(settings, workers=True) as (http, container):
        admin, admin_id = await signed_in_admin(
            http, container, f"metrics-{uuid.uuid4().hex[:6]}@example.com"
        )
        yield http, container, admin, admin_id


async def test_sent_notifications_and_requests_are_counted_exactly(stack: Any) -> None:
    http, _, admin, admin_id = stack
    before = await scrape(http)
    body = {
        "userId": str(admin_id),
        "channel": "IN_APP",
        "type": "ALERT",
        "priority": "HIGH",
        "payload": {"title": "Counted", "body": "once"},
    }
    ids = []
    for _ in range(7):
        response = await http.post("/notifications", headers=admin, json=body)
        assert response.status_code == 201
        ids.append(response.json()["id"])
    await all_settled(http, admin, ids)
    after = await scrape(http)

    def grew(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    sent = {"channel": "IN_APP", "priority": "HIGH", "status": "SENT"}
    assert grew("notifications_total", **sent) == 7
    assert grew("notifications_total", channel="IN_APP", status="PENDING") == 7
    posts = {"route": "/notifications", "method": "POST", "status_class": "2xx"}
    assert grew("http_requests_total", **posts) == 7
    assert grew("http_request_duration_seconds_count", **posts) == 7
    assert grew("kafka_messages_published_total", topic="notifications.high") == 7
    assert grew("kafka_messages_consumed_total", topic="notifications.high") == 7
    assert grew("provider_request_duration_seconds_count", outcome="sent") == 7
    assert grew("db_query_duration_seconds_count") > 0
    assert grew("cache_misses_total") + grew("cache_hits_total") > 0
    # the admins' JSON view reads the same registry
    view = (await http.get("/admin/metrics", headers=admin)).json()["notifications"]
    assert view["SENT"] == total(after, "notifications_total", status="SENT")


async def test_no_label_names_a_user_an_address_or_a_notification(stack: Any) -> None:
    http, _, admin, admin_id = stack
    email = f"labelled-{uuid.uuid4().hex[:6]}@example.com"
    user_id = await admin_creates_user(http, admin, email)
    sent = await http.post(
        "/notifications",
        headers=admin,
        json={
            "userId": user_id,
            "channel": "EMAIL",
            "type": "TRANSACTIONAL",
            "payload": {"to": email, "subject": "s", "body": "b"},
        },
    )
    nid = sent.json()["id"]
    await all_settled(http, admin, [nid])
    await http.get(f"/notifications/{nid}", headers=admin)
    await http.get(f"/users/{user_id}", headers=admin)
    await http.get(f"/no/such/{uuid.uuid4()}/path")
    found = await scrape(http)
    values = {value for (_, labels) in found for _, value in labels}
    for secret in (email, user_id, nid, str(admin_id)):
        assert not any(secret in value for value in values), secret
    routes = {value for (_, labels) in found for name, value in labels if name == "route"}
    assert "/notifications/{notification_id:uuid}" in routes
    assert "unmatched" in routes
    assert not any("/no/such" in route for route in routes)


async def test_a_metrics_token_is_asked_for_when_set(database_url: str) -> None:
    settings = make_settings(database_url=database_url, metrics_token="scrape-secret-1234")
    async with running(settings) as (http, _):
        refused = await http.get("/metrics")
        assert refused.status_code == 401
        wrong = await http.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        await scrape(http, {"Authorization": "Bearer scrape-secret-1234"})


async def test_metrics_can_be_turned_off(database_url: str) -> None:
    before = samples(metrics.exposition().decode())
    settings = make_settings(database_url=database_url, metrics_enabled=False)
    try:
        async with running(settings) as (http, _):
            assert (await http.get("/metrics")).status_code == 404
            assert (await http.get("/health/readiness")).status_code == 200
            after = samples(metrics.exposition().decode())
    finally:
        metrics.record(True)
    # nothing was recorded meanwhile
    assert total(after, "http_requests_total") == total(before, "http_requests_total")


async def test_waiting_work_shows_as_backlog(stack: Any, container: Container) -> None:
    http, _, admin, admin_id = stack
    later = {
        "userId": str(admin_id),
        "channel": "IN_APP",
        "type": "ALERT",
        "payload": {"title": "Later", "body": "."},
        "scheduledFor": "2099-01-01T00:00:00Z",
    }
    for _ in range(3):
        assert (await http.post("/notifications", headers=admin, json=later)).status_code == 201
    api_metrics.WAITING._read_at = 0.0  # the next scrape reads the database again
    found = await scrape(http)
    assert total(found, "notifications_backlog", status="SCHEDULED") >= 3


async def test_connections_in_use_are_read_when_scraped(database_url: str) -> None:
    # no workers: nothing else takes a connection between the scrapes
    async with running(make_settings(database_url=database_url)) as (http, container):
        idle = total(await scrape(http), "db_connections_active")
        async with container.reading() as uow:  # holds a pooled connection until it ends
            await uow.users.get(uuid.uuid4())
            held = total(await scrape(http), "db_connections_active")
        assert held == idle + 1
        assert total(await scrape(http), "db_connections_active") == idle
