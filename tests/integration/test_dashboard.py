"""`GET /admin/dashboard`: volumes, failures and backlog, read from the database
the way the worker left it, and cached for 30 s."""

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from clarion.api.app import create_app
from clarion.bootstrap import Container
from clarion.domain.enums import Channel, EventType, NotificationStatus, NotificationType, Priority
from clarion.domain.notifications import NewNotification
from clarion.domain.pipeline import DeliveryOutcome
from clarion.domain.time import utcnow
from clarion.services.dashboard import DASHBOARD_KEY
from tests.support.apps import serving, signed_in_admin
from tests.support.identity import add_user

S = NotificationStatus


@pytest.fixture
async def serve(container: Container) -> AsyncIterator[Any]:
    async with serving(create_app(container=container)) as http:
        admin, _ = await signed_in_admin(http, container, "dashboard@example.com")
        yield http, admin


async def delivered(
    container: Container, user: uuid.UUID, at: datetime, outcomes: list[tuple[S, str | None]]
) -> list[uuid.UUID]:
    """Notifications created at `at` and taken through claim and record as a
    worker would, each ending as given (PENDING: left unclaimed)."""
    items = [
        NewNotification(
            user_id=user,
            channel=Channel.SMS,
            type=NotificationType.TRANSACTIONAL,
            priority=Priority.MEDIUM,
            payload={"to": "+15005550006", "body": "hi"},
            metadata=None,
            scheduled_for=None,
        )
        for _ in outcomes
    ]
    async with container.grouped() as uow:
        await uow.notifications.add_many(items, at)
    done = [
        (item, end) for item, end in zip(items, outcomes, strict=True) if end[0] is not S.PENDING
    ]
    async with container.grouped() as uow:
        claims = await uow.notifications.claim([item.id for item, _ in done], at)
    ends = {item.id: end for item, end in done}
    results = [
        DeliveryOutcome.of(
            c.record,
            ends[c.record.id][0],
            EventType.SENT if ends[c.record.id][0] is S.SENT else EventType.FAILED,
            error=ends[c.record.id][1],
            provider="sandbox",
        )
        for c in claims
    ]
    async with container.grouped() as uow:
        await uow.notifications.record_outcomes(results, at, claimed_at=at)
    return [item.id for item in items]


async def test_the_dashboard_counts_what_the_database_holds(
    serve: Any, container: Container
) -> None:
    http, admin = serve
    user = await add_user(container, "counted@example.com")
    now = utcnow()
    no_phone = "no phone number on file"
    await delivered(container, user, now - timedelta(days=2), [(S.SENT, None), (S.FAILED, "old")])
    await delivered(
        container,
        user,
        now - timedelta(minutes=5),
        [
            (S.SENT, None),
            (S.SENT, None),
            (S.SENT, None),
            (S.FAILED, no_phone),
            (S.FAILED, no_phone),
            (S.FAILED, "twilio: 21211 invalid number"),
        ],
    )
    [oldest, _] = await delivered(
        container, user, now - timedelta(minutes=3), [(S.PENDING, None), (S.PENDING, None)]
    )

    response = await http.get("/admin/dashboard", headers=admin)
    assert response.status_code == 200, response.text
    board = response.json()
    for window in ("lastHour", "lastDay"):  # the two-day-old pair is in neither
        assert board[window]["byStatus"] == {"SENT": 3, "FAILED": 3, "PENDING": 2}
        assert board[window]["byChannel"] == {"SMS": 8}
        assert board[window]["failureRate"] == 0.5
    assert {"status": "FAILED", "channel": "SMS", "lastHour": 3, "lastDay": 3} in board[
        "byStatusAndChannel"
    ]
    assert sum(m["count"] for m in board["sentPerMinute"]) == 3
    assert board["topErrors"][0] == {"reason": no_phone, "count": 2}
    assert len(board["topErrors"]) == 2  # the old failure is outside the day
    assert board["deadLetters"] == 4  # every FAILED, however old
    assert board["oldestWaiting"]["id"] == str(oldest)
    assert board["oldestWaiting"]["ageSeconds"] >= 180
    assert board["lanes"]["MEDIUM"]["waiting"] == 2
    assert board["circuitsOf"] == "this process"
    assert {"channel": "SMS", "provider": "sandbox", "state": "closed"} in board["circuits"]
    assert "hitRate" in board["cache"]


async def test_the_dashboard_is_cached_for_30_seconds(serve: Any, container: Container) -> None:
    http, admin = serve
    user = await add_user(container, "cached@example.com")
    first = (await http.get("/admin/dashboard", headers=admin)).json()
    await delivered(container, user, utcnow(), [(S.SENT, None)])
    again = (await http.get("/admin/dashboard", headers=admin)).json()
    assert again["generatedAt"] == first["generatedAt"]
    assert again["lastHour"]["total"] == first["lastHour"]["total"]
    # once the entry is gone (its 30 s passed), the next call reads the database
    await container.cache.delete(DASHBOARD_KEY)
    fresh = (await http.get("/admin/dashboard", headers=admin)).json()
    assert fresh["lastHour"]["total"] == first["lastHour"]["total"] + 1
