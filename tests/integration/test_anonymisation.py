"""`DELETE /data-pipeline/anonymize/{userId}`: afterwards no table, cache entry
or export holds the user's email, phone or name, their statistics are the
same, and they are signed out for good."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import select, update

from clarion.adapters.cache.memory import MemoryCache
from clarion.adapters.db.models import Base, Event, Notification
from clarion.bootstrap import Container
from clarion.domain.time import utcnow
from tests.conftest import make_settings
from tests.support.apps import running, signed_in_admin
from tests.support.databases import REDIS_URL
from tests.support.identity import PASSWORD, error_shape_problem
from tests.support.notifications import all_settled

FINISHED = {"SENT", "FAILED", "NOT_SENT", "CANCELLED"}


class Person:
    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:8]
        self.email = f"Zelda.Quill-{tag}@Example.com"
        self.phone = f"+1555{int(tag, 16) % 10_000_000:07d}"
        self.name = f"Zelda Quillfeather {tag}"

    def traces(self) -> list[str]:
        return [self.email.lower(), self.phone, self.name.lower()]

    def found_in(self, text: str) -> list[str]:
        lowered = text.lower()
        return [trace for trace in self.traces() if trace in lowered]


@pytest.fixture
async def stack(backend: str, database_url: str, tmp_path: Path) -> AsyncIterator[Any]:
    """Clarion with its workers and an archive folder; on PostgreSQL with the
    Redis cache."""
    redis_url = REDIS_URL if backend == "postgresql" else None
    archive = (tmp_path / "archive").as_uri()
    settings = make_settings(database_url=database_url, redis_url=redis_url, archive_url=archive)
    async with running(settings, workers=True) as (http, container):
        admin, _ = await signed_in_admin(
            http, container, f"eraser-{uuid.uuid4().hex[:6]}@example.com"
        )
        yield http, container, admin


async def a_user_with_history(
    http: httpx.AsyncClient, admin: dict[str, str], person: Person
) -> tuple[str, dict[str, str], dict[str, Any], list[str]]:
    """The person's account with sessions, a device, delivered notifications of
    every channel, one still scheduled and one from someone else naming them."""
    made = await http.post(
        "/admin/users",
        headers=admin,
        json={
            "email": person.email,
            "password": PASSWORD,
            "name": person.name,
            "phone": person.phone,
        },
    )
    assert made.status_code == 201, made.text
    user_id = made.json()["id"]
    tokens = (
        await http.post("/auth/login", json={"email": person.email, "password": PASSWORD})
    ).json()
    own = {"Authorization": f"Bearer {tokens['accessToken']}"}
    device = await http.post(
        f"/users/{user_id}/devices",
        headers=own,
        json={"platform": "ANDROID", "token": f"fcm-{uuid.uuid4().hex}"},
    )
    assert device.status_code == 201, device.text
    bodies = [
        {"channel": "EMAIL", "payload": {"subject": f"Hi {person.name}", "body": "Welcome"}},
        {"channel": "SMS", "payload": {"body": f"Code for {person.name}: 1234"}},
        {"channel": "IN_APP", "payload": {"title": "Hello", "body": f"Dear {person.name}"}},
        {"channel": "PUSH", "payload": {"title": "Ping", "body": "Open the app"}},
    ]
    ids = []
    for n, body in enumerate(bodies):
        response = await http.post(
            "/notifications",
            headers={**admin, "Idempotency-Key": f"erase-{n}-{uuid.uuid4().hex}"},
            json={"userId": user_id, "type": "TRANSACTIONAL", **body},
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    await all_settled(http, admin, ids, within=20)
    waiting = await http.post(
        "/notifications",
        headers=admin,
        json={
            "userId": user_id,
            "channel": "EMAIL",
            "type": "TRANSACTIONAL",
            "payload": {"subject": "Later", "body": f"For {person.name}"},
            "scheduledFor": "2099-01-01T00:00:00Z",
        },
    )
    assert waiting.status_code == 201, waiting.text
    someone_else = (await http.get("/auth/me", headers=admin)).json()["id"]
    naming = await http.post(
        "/notifications",
        headers=admin,
        json={
            "userId": someone_else,
            "channel": "EMAIL",
            "type": "TRANSACTIONAL",
            "payload": {"to": person.email, "subject": "Forwarded", "body": "."},
        },
    )
    assert naming.status_code == 201, naming.text
    await all_settled(http, admin, [naming.json()["id"]], within=20)
    for nid in ids:  # their views in the cache
        assert (await http.get(f"/notifications/{nid}", headers=own)).status_code == 200
    assert (await http.get("/notifications", headers=own)).status_code == 200
    return user_id, own, tokens, [*ids, waiting.json()["id"]]


async def archive_old(
    http: httpx.AsyncClient, container: Container, admin: dict[str, str], ids: list[str]
) -> list[dict[str, Any]]:
    """Make these notifications 100 days old and archive them; what the archive
    then reads back."""
    old = utcnow() - timedelta(days=100)
    chosen = [uuid.UUID(i) for i in ids]
    async with container.sessions() as session:
        await session.execute(
            update(Notification)
            .where(Notification.id.in_(chosen))
            .values(created_at=old, updated_at=old)
        )
        await session.execute(
            update(Event).where(Event.notification_id.in_(chosen)).values(timestamp=old)
        )
        await session.commit()
    run = await http.post("/data-pipeline/archive?olderThanDays=90", headers=admin)
    assert run.status_code == 200, run.text
    found = [doc async for doc in container.archive.documents("notifications", None, None)]
    assert {str(i) for i in chosen} <= {doc["id"] for doc in found}
    return found


async def every_row_as_text(container: Container) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    async with container.sessions() as session:
        for table in Base.metadata.sorted_tables:
            rows = (await session.execute(select(table))).all()
            found[table.name] = [repr(tuple(row)) for row in rows]
    return found


async def every_cache_entry(container: Container) -> list[str]:
    inner = container.cache._inner
    if isinstance(inner, MemoryCache):
        entries = inner._entries
        return [f"{key} {value!r}" for key, (_, value) in entries.items()]
    client = Redis.from_url(REDIS_URL)
    try:
        found = []
        async for key in client.scan_iter(match="clarion:*"):
            value = await client.get(key) if await client.type(key) == b"string" else b""
            found.append(f"{key!r} {value!r}")
        return found
    finally:
        await client.aclose()


async def exported(http: httpx.AsyncClient, admin: dict[str, str], kind: str, fmt: str) -> str:
    response = await http.get(
        f"/data-pipeline/export/{kind}",
        headers=admin,
        params={"format": fmt, "includeArchived": "true"},
    )
    assert response.status_code == 200, response.text
    return response.text


async def counts(
    http: httpx.AsyncClient, admin: dict[str, str], user_id: str
) -> dict[tuple[str, str], int]:
    text = await exported(http, admin, "notifications", "ndjson")
    found: dict[tuple[str, str], int] = {}
    for line in text.splitlines():
        doc = json.loads(line)
        if doc["userId"] == user_id:
            key = (doc["channel"], doc["status"])
            found[key] = found.get(key, 0) + 1
    return found


async def test_no_trace_of_them_is_left_and_their_statistics_stay(stack: Any) -> None:
    http, container, admin = stack
    person = Person()
    user_id, own, tokens, ids = await a_user_with_history(http, admin, person)
    archived = await archive_old(http, container, admin, ids[:2])
    assert any(person.found_in(json.dumps(doc)) for doc in archived)
    before = await counts(http, admin, user_id)
    tables_before = await every_row_as_text(container)
    assert any(person.found_in(" ".join(rows)) for rows in tables_before.values())
    assert any(person.found_in(entry) for entry in await every_cache_entry(container))

    response = await http.delete(f"/data-pipeline/anonymize/{user_id}", headers=admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["alreadyAnonymised"] is False
    assert body["pseudonym"].startswith("anon-")
    assert body["rows"]["notifications"] >= 4  # two of the six are archived
    assert body["rows"]["cancelled"] == 1
    assert person.found_in(response.text) == []
    await asyncio.sleep(0.1)  # after-commit cache drops

    for table, rows in (await every_row_as_text(container)).items():
        left = [row for row in rows if person.found_in(row)]
        assert left == [], f"{table} still names them: {left[:2]}"
    cached = [entry for entry in await every_cache_entry(container) if person.found_in(entry)]
    assert cached == []
    after_archive = [doc async for doc in container.archive.documents("notifications", None, None)]
    assert {doc["id"] for doc in after_archive} >= {doc["id"] for doc in archived}
    assert [doc for doc in after_archive if person.found_in(json.dumps(doc))] == []
    for kind in ("notifications", "events"):
        for fmt in ("ndjson", "csv"):
            assert person.found_in(await exported(http, admin, kind, fmt)) == []
    account = await http.get(f"/users/{user_id}", headers=admin)
    assert person.found_in(account.text) == []

    after = await counts(http, admin, user_id)
    waiting = ("EMAIL", "SCHEDULED")
    assert after.pop(("EMAIL", "CANCELLED"), 0) - before.get(("EMAIL", "CANCELLED"), 0) == 1
    assert {k: v for k, v in before.items() if k != waiting} == after  # finished ones unchanged

    # nothing more goes out to them
    later = await http.post(
        "/notifications",
        headers=admin,
        json={
            "userId": user_id,
            "channel": "EMAIL",
            "type": "ALERT",
            "payload": {"subject": "?", "body": "?"},
        },
    )
    assert later.status_code == 201, later.text
    [unsent] = await all_settled(http, admin, [later.json()["id"]], within=20)
    assert unsent["status"] == "FAILED"
    assert "no address" in unsent["errorMessage"]

    # signed out everywhere, and no way back in
    assert (await http.get("/auth/me", headers=own)).status_code == 401
    refreshed = await http.post("/auth/refresh", json={"refreshToken": tokens["refreshToken"]})
    assert refreshed.status_code == 401
    login = await http.post("/auth/login", json={"email": person.email, "password": PASSWORD})
    assert login.status_code == 401


async def test_asking_again_answers_the_first_result_and_the_stats_count_it(stack: Any) -> None:
    http, _container, admin = stack
    person = Person()
    made = await http.post(
        "/admin/users",
        headers=admin,
        json={"email": person.email, "password": PASSWORD, "name": person.name},
    )
    user_id = made.json()["id"]
    stats_before = (await http.get("/data-pipeline/anonymization/stats", headers=admin)).json()
    first = (await http.delete(f"/data-pipeline/anonymize/{user_id}", headers=admin)).json()
    again = await http.delete(f"/data-pipeline/anonymize/{user_id}", headers=admin)
    assert again.status_code == 200
    assert again.json() == {**first, "alreadyAnonymised": True}
    stats = (await http.get("/data-pipeline/anonymization/stats", headers=admin)).json()
    assert stats["users"] == stats_before["users"] + 1
    assert stats["recent"] == stats_before["recent"] + 1
    assert stats["lastAt"] == first["anonymisedAt"]
    assert stats["rows"]["users"] == stats_before["rows"].get("users", 0) + 1
    trail = await http.get(
        "/data-pipeline/audit-logs",
        headers=admin,
        params={"action": "user.anonymise", "entityId": user_id},
    )
    entries = trail.json()["items"]
    assert len(entries) == 1
    assert entries[0]["changes"]["pseudonym"] == first["pseudonym"]


async def test_unknown_users_admins_and_callers_who_are_not_admins_are_refused(stack: Any) -> None:
    http, _container, admin = stack
    missing = await http.delete(f"/data-pipeline/anonymize/{uuid.uuid4()}", headers=admin)
    assert missing.status_code == 404
    assert error_shape_problem(missing, "not_found") is None
    me = (await http.get("/auth/me", headers=admin)).json()["id"]
    admin_refused = await http.delete(f"/data-pipeline/anonymize/{me}", headers=admin)
    assert admin_refused.status_code == 409
    assert error_shape_problem(admin_refused, "conflict") is None
    assert (await http.get("/auth/me", headers=admin)).status_code == 200
    bad = await http.delete("/data-pipeline/anonymize/not-a-uuid", headers=admin)
    assert bad.status_code == 422
    person = Person()
    await http.post(
        "/auth/register", json={"email": person.email, "password": PASSWORD, "name": "X"}
    )
    login = (
        await http.post("/auth/login", json={"email": person.email, "password": PASSWORD})
    ).json()
    user = {"Authorization": f"Bearer {login['accessToken']}"}
    own_id = (await http.get("/auth/me", headers=user)).json()["id"]
    refused = await http.delete(f"/data-pipeline/anonymize/{own_id}", headers=user)
    assert refused.status_code == 403
    assert (await http.get("/auth/me", headers=user)).status_code == 200  # nothing changed
