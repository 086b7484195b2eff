"""Reading the audit trail: `/data-pipeline/audit-logs` and its stats."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from clarion.api.app import create_app
from clarion.bootstrap import Container
from tests.support.apps import serving, signed_in_admin
from tests.support.identity import admin_creates_user


@pytest.fixture
async def serve(container: Container) -> AsyncIterator[Any]:
    async with serving(create_app(container=container)) as http:
        admin, admin_id = await signed_in_admin(http, container, "auditor@example.com")
        yield http, admin, admin_id


async def trail(
    http: httpx.AsyncClient, admin: dict[str, str], **params: Any
) -> list[dict[str, Any]]:
    """Every page of the trail for these filters, two entries per page."""
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, "limit": 2, **({"cursor": cursor} if cursor else {})}
        response = await http.get("/data-pipeline/audit-logs", headers=admin, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["items"]) <= 2
        found += body["items"]
        cursor = body["nextCursor"]
        if cursor is None:
            return found


async def test_the_trail_pages_newest_first_and_filters_by_action_actor_and_entity(
    serve: Any,
) -> None:
    http, admin, admin_id = serve
    started = datetime.now(UTC)
    made = [await admin_creates_user(http, admin, f"audited-{n}@example.com") for n in range(3)]
    renamed = await http.patch(f"/users/{made[0]}", headers=admin, json={"name": "Renamed"})
    assert renamed.status_code == 200

    creates = await trail(http, admin, action="user.create", **{"from": started.isoformat()})
    assert [e["entityId"] for e in creates] == list(reversed(made))  # newest first
    assert {e["actorId"] for e in creates} == {str(admin_id)}
    assert all(e["changes"]["actorKind"] == "user" for e in creates)

    both = await trail(http, admin, action=["user.create", "user.update"])
    assert [e["action"] for e in both].count("user.update") == 1
    times = [e["timestamp"] for e in both]
    assert times == sorted(times, reverse=True)

    about_first = await trail(http, admin, entityType="user", entityId=made[0])
    assert [e["action"] for e in about_first] == ["user.update", "user.create"]

    nobody = await trail(http, admin, actor="00000000-0000-4000-8000-000000000000")
    assert nobody == []
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert await trail(http, admin, **{"from": later}) == []


async def test_reading_the_trail_is_itself_audited_with_its_filters(serve: Any) -> None:
    http, admin, admin_id = serve
    first = await http.get(
        "/data-pipeline/audit-logs", headers=admin, params={"action": "user.delete"}
    )
    assert first.status_code == 200
    reads = await trail(http, admin, action="audit_log.read")
    oldest = reads[-1]
    assert oldest["actorId"] == str(admin_id)
    assert oldest["changes"]["filters"] == {"action": ["user.delete"]}


async def test_stats_count_by_action_and_actor_over_a_window(serve: Any) -> None:
    http, admin, admin_id = serve
    for n in range(3):
        await admin_creates_user(http, admin, f"counted-{n}@example.com")
    stats = await http.get("/data-pipeline/audit-logs/stats", headers=admin)
    assert stats.status_code == 200, stats.text
    body = stats.json()
    by_action = {a["action"]: a["count"] for a in body["byAction"]}
    assert by_action["user.create"] == 3
    assert {a["actorId"]: a["count"] for a in body["byActor"]}[str(admin_id)] >= 3
    assert body["total"] == sum(by_action.values())
    assert datetime.fromisoformat(body["to"]) - datetime.fromisoformat(body["from"]) == timedelta(
        days=7
    )

    past = {"from": "2020-01-01T00:00:00Z", "to": "2020-01-02T00:00:00Z"}
    empty = (await http.get("/data-pipeline/audit-logs/stats", headers=admin, params=past)).json()
    assert empty["total"] == 0
    assert empty["byAction"] == []


async def test_bad_filters_are_422_in_the_error_shape(serve: Any) -> None:
    http, admin, _ = serve
    for path, params, field in (
        ("/data-pipeline/audit-logs", {"cursor": "not-a-cursor"}, "cursor"),
        ("/data-pipeline/audit-logs", {"actor": "nobody"}, "actor"),
        ("/data-pipeline/audit-logs", {"action": "DROP TABLE"}, "action.0"),
        ("/data-pipeline/audit-logs", {"from": "yesterday"}, "from"),
        ("/data-pipeline/audit-logs", {"limit": "100000"}, "limit"),
        (
            "/data-pipeline/audit-logs/stats",
            {"from": "2030-01-02T00:00:00Z", "to": "2030-01-01T00:00:00Z"},
            "from",
        ),
    ):
        response = await http.get(path, headers=admin, params=params)
        assert response.status_code == 422, (path, params, response.text)
        body = response.json()
        assert body["code"] == "validation_error", body
        assert [d["field"] for d in body["details"]] == [field], body
