"""`/data-pipeline/export`: every matching row once, oldest first, as NDJSON or
CSV, streamed in chunks; each export is in the audit trail."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import insert

from clarion.adapters.db.documents import EVENT_FIELDS, NOTIFICATION_FIELDS, field_names
from clarion.adapters.db.models import Event, Notification
from clarion.api.app import create_app
from clarion.bootstrap import Container
from clarion.domain.time import utcnow
from clarion.services.export import CHUNK_ROWS
from tests.support.apps import serving, signed_in, signed_in_admin
from tests.support.identity import add_user, error_shape_problem

CHANNELS = ["EMAIL", "SMS", "IN_APP"]
STATUSES = ["SENT", "FAILED", "PENDING", "CANCELLED"]
TYPES = ["TRANSACTIONAL", "MARKETING"]
STORED = CHUNK_ROWS * 2 + 300  # three chunks, the last one short


@pytest.fixture
async def serve(container: Container) -> AsyncIterator[Any]:
    async with serving(create_app(container=container)) as http:
        admin, _ = await signed_in_admin(http, container, "exporter@example.com")
        yield http, admin


async def store(container: Container, count: int) -> list[dict[str, Any]]:
    """`count` notifications of two users, each with one event, written in SQL;
    groups of three share a creation time, so paging must break ties by id."""
    users = [
        await add_user(container, f"export-{n}-{uuid.uuid4().hex[:6]}@example.com")
        for n in range(2)
    ]
    start = utcnow() - timedelta(days=3)
    rows = [
        {
            "id": uuid.uuid4(),
            "user_id": users[n % 2],
            "channel": CHANNELS[n % 3],
            "type": TYPES[n % 2],
            "status": STATUSES[n % 4],
            "payload": {"to": f"person{n}@example.com", "body": f'message {n}, "quoted"'},
            "metadata_": {"n": n},
            "created_at": start + timedelta(seconds=n // 3),
            "updated_at": start + timedelta(seconds=n // 3),
        }
        for n in range(count)
    ]
    events = [
        {
            "id": uuid.uuid4(),
            "notification_id": row["id"],
            "user_id": row["user_id"],
            "type": "CREATED",
            "status": "PENDING",
            "channel": row["channel"],
            "timestamp": row["created_at"],
        }
        for row in rows
    ]
    async with container.sessions() as session:
        await session.execute(insert(Notification), rows)
        await session.execute(insert(Event), events)
        await session.commit()
    return rows


async def ndjson(
    http: httpx.AsyncClient, admin: dict[str, str], path: str, **params: Any
) -> list[dict[str, Any]]:
    response = await http.get(f"/data-pipeline/export/{path}", headers=admin, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    assert "attachment" in response.headers["content-disposition"]
    return [json.loads(line) for line in response.text.splitlines()]


async def test_every_row_once_oldest_first_and_the_filters_match(
    serve: Any, container: Container
) -> None:
    http, admin = serve
    rows = await store(container, STORED)
    everything = await ndjson(http, admin, "notifications")
    ours = {str(r["id"]) for r in rows}
    exported = [doc for doc in everything if doc["id"] in ours]
    assert len(exported) == STORED  # nothing lost or repeated at chunk edges
    assert len({doc["id"] for doc in exported}) == STORED
    times = [doc["createdAt"] for doc in exported]
    assert times == sorted(times)
    assert list(exported[0]) == field_names(NOTIFICATION_FIELDS)
    first = next(doc for doc in exported if doc["metadata"] == {"n": 0})
    assert first["payload"]["body"] == 'message 0, "quoted"'

    user = rows[0]["user_id"]
    chosen = await ndjson(
        http, admin, "notifications", userId=str(user), status=["SENT", "FAILED"], channel="EMAIL"
    )
    wanted = {
        str(r["id"])
        for r in rows
        if r["user_id"] == user and r["status"] in ("SENT", "FAILED") and r["channel"] == "EMAIL"
    }
    assert {doc["id"] for doc in chosen} == wanted
    assert wanted

    since, until = rows[300]["created_at"], rows[900]["created_at"]
    window = await ndjson(
        http,
        admin,
        "notifications",
        type="MARKETING",
        **{"from": since.isoformat(), "to": until.isoformat()},
    )
    expected = {
        str(r["id"]) for r in rows if since <= r["created_at"] < until and r["type"] == "MARKETING"
    }
    assert {doc["id"] for doc in window} == expected
    assert expected


async def test_events_export_with_its_own_type_filter(serve: Any, container: Container) -> None:
    http, admin = serve
    rows = await store(container, 40)
    user = rows[1]["user_id"]
    created = await ndjson(http, admin, "events", userId=str(user), type="CREATED")
    assert {doc["notificationId"] for doc in created} == {
        str(r["id"]) for r in rows if r["user_id"] == user
    }
    assert all(list(doc) == field_names(EVENT_FIELDS) for doc in created)
    assert await ndjson(http, admin, "events", userId=str(user), type="SENT") == []


async def test_csv_by_accept_or_format_opens_in_the_csv_module(
    serve: Any, container: Container
) -> None:
    http, admin = serve
    rows = await store(container, CHUNK_ROWS + 5)
    user = str(rows[0]["user_id"])
    by_accept = await http.get(
        "/data-pipeline/export/notifications",
        headers={**admin, "Accept": "text/csv"},
        params={"userId": user},
    )
    by_format = await http.get(
        "/data-pipeline/export/notifications",
        headers=admin,
        params={"userId": user, "format": "csv"},
    )
    for response in (by_accept, by_format):
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/csv")
        table = list(csv.DictReader(io.StringIO(response.text)))
        assert list(table[0]) == field_names(NOTIFICATION_FIELDS)
        assert len(table) == len([r for r in rows if str(r["user_id"]) == user])
        sample = next(line for line in table if json.loads(line["metadata"]) == {"n": 0})
        assert json.loads(sample["payload"])["body"] == 'message 0, "quoted"'
        assert sample["sentAt"] == ""  # none is written as an empty cell


async def test_each_export_is_audited_with_its_filters_and_row_count(
    serve: Any, container: Container
) -> None:
    http, admin = serve
    rows = await store(container, 30)
    user = str(rows[0]["user_id"])
    await ndjson(http, admin, "notifications", userId=user, status="SENT")
    trail = await http.get(
        "/data-pipeline/audit-logs", headers=admin, params={"action": "data.export"}
    )
    assert trail.status_code == 200
    entry = trail.json()["items"][0]
    sent = len([r for r in rows if str(r["user_id"]) == user and r["status"] == "SENT"])
    assert entry["changes"]["rows"] == sent
    assert entry["changes"]["complete"] is True
    assert entry["changes"]["kind"] == "notifications"
    assert entry["changes"]["filters"] == {"userId": user, "status": ["SENT"]}


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2026-05-02T00:00:00Z", "to": "2026-05-01T00:00:00Z"},
        {"format": "xml"},
        {"status": "LOST"},
        {"userId": "not-a-uuid"},
        {"from": "yesterday"},
    ],
)
async def test_bad_filters_are_refused_before_anything_streams(
    serve: Any, params: dict[str, str]
) -> None:
    http, admin = serve
    response = await http.get("/data-pipeline/export/notifications", headers=admin, params=params)
    assert response.status_code == 422, response.text
    assert error_shape_problem(response, "validation_error") is None


async def test_users_cannot_export(serve: Any) -> None:
    http, _ = serve
    user = await signed_in(http, "not-an-exporter@example.com")
    for path in ("notifications", "events"):
        response = await http.get(f"/data-pipeline/export/{path}", headers=user)
        assert response.status_code == 403
        assert error_shape_problem(response, "forbidden") is None
