"""Quiet hours in the delivery pipeline, with a controlled clock: what falls in a
user's quiet window waits for its end, on ordinary nights and on the nights the
clocks change, without spending an attempt; URGENT and in-app do not wait."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from clarion.api.app import create_app
from clarion.bootstrap import Container
from clarion.domain.delivery import QueueMessage
from clarion.domain.enums import Channel, Priority
from clarion.services.pipeline import DeliveryPipeline
from tests.support.apps import serving, signed_in, signed_in_admin
from tests.support.notifications import events

DEVICE = "quiet-device-" + "q" * 40
NIGHTS = {
    # 23:30 in New York the evening before, and 07:00 the next morning, in UTC; nights
    # ahead of the test's own, so the events it writes come after CREATED
    "an ordinary night": ("2027-06-10T03:30:00+00:00", "2027-06-10T11:00:00+00:00"),
    "clocks go forward": ("2027-03-14T04:30:00+00:00", "2027-03-14T11:00:00+00:00"),
    "clocks go back": ("2027-11-07T03:30:00+00:00", "2027-11-07T12:00:00+00:00"),
}
EVERY_NIGHT = {
    "timezone": "America/New_York",
    "quietHours": [
        {"days": ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"], "from": "22:00", "to": "07:00"}
    ],
}


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def app(container: Container) -> AsyncIterator[Any]:
    """The API without workers: the test runs the pipeline itself, at the times it picks."""
    async with serving(create_app(container=container)) as http:
        admin, _ = await signed_in_admin(http, container, "quiet-admin@example.com")
        sleeper = await signed_in(http, f"sleeper-{uuid.uuid4().hex[:8]}@example.com")
        user = str((await http.get("/auth/me", headers=sleeper)).json()["id"])
        saved = await http.put(f"/users/{user}/preferences", headers=admin, json=EVERY_NIGHT)
        assert saved.status_code == 200, saved.text
        yield http, admin, user


def pipeline(container: Container, clock: Clock, **options: Any) -> DeliveryPipeline:
    return DeliveryPipeline(
        queue=container.queue,
        uow_factory=container.unit_of_work,
        deliverer=container.deliverer,
        cache=container.cache,
        clock=clock,
        **options,
    )


async def accepted(
    http: httpx.AsyncClient, admin: dict[str, str], user: str, channel: str, priority: str
) -> QueueMessage:
    payloads = {
        "PUSH": {"title": "Your parcel", "body": "It is at the door", "token": DEVICE},
        "IN_APP": {"title": "Your parcel", "body": "It is at the door"},
        "EMAIL": {"subject": "Your parcel", "body": "It is at the door"},
    }
    body = {
        "userId": user,
        "channel": channel,
        "type": "ALERT",
        "priority": priority,
        "payload": payloads[channel],
    }
    answer = await http.post("/notifications", headers=admin, json=body)
    assert answer.status_code == 201, answer.text
    return QueueMessage(
        notification_id=uuid.UUID(answer.json()["id"]),
        user_id=uuid.UUID(user),
        channel=Channel(channel),
        priority=Priority(priority),
        attempt=1,
        key=user,
    )


async def read(http: httpx.AsyncClient, admin: dict[str, str], message: QueueMessage) -> Any:
    return (await http.get(f"/notifications/{message.notification_id}", headers=admin)).json()


@pytest.mark.parametrize("night", list(NIGHTS))
async def test_a_push_at_2330_goes_at_0700_local_with_one_attempt(
    app: Any, container: Container, night: str
) -> None:
    http, admin, user = app
    at_2330, at_0700 = (datetime.fromisoformat(t) for t in NIGHTS[night])
    message = await accepted(http, admin, user, "PUSH", "MEDIUM")

    clock = Clock(at_2330)
    await pipeline(container, clock).run([message])
    held = await read(http, admin, message)
    assert held["status"] == "SCHEDULED"
    assert datetime.fromisoformat(held["scheduledFor"]) == at_0700
    assert held["attempts"] == 0  # waiting is not an attempt
    trail = await events(http, admin, str(message.notification_id))
    assert [e["type"] for e in trail] == ["CREATED", "DEFERRED"]
    assert trail[1]["metadata"]["reason"] == "quiet hours"
    assert datetime.fromisoformat(trail[1]["metadata"]["until"]) == at_0700
    print(f"{night}: 23:30 New York ({at_2330:%H:%MZ}) held until {at_0700:%H:%MZ}")

    uow = container.unit_of_work()
    try:
        # the scheduler's promotion, a minute early and then on time
        early = at_0700 - timedelta(minutes=1)
        assert await uow.notifications.promote_scheduled(early, limit=9) == 0
        assert await uow.notifications.promote_scheduled(at_0700, limit=9) == 1
        await uow.commit()
    finally:
        await uow.close()
    clock.now = at_0700
    await pipeline(container, clock).run([message])
    sent = await read(http, admin, message)
    assert sent["status"] == "SENT"
    assert sent["attempts"] == 1
    assert datetime.fromisoformat(sent["sentAt"]) == at_0700


async def test_urgent_and_in_app_do_not_wait(app: Any, container: Container) -> None:
    http, admin, user = app
    at_2330 = datetime(2026, 6, 10, 3, 30, tzinfo=UTC)
    urgent = await accepted(http, admin, user, "PUSH", "URGENT")
    inbox = await accepted(http, admin, user, "IN_APP", "MEDIUM")
    await pipeline(container, Clock(at_2330)).run([urgent])
    await pipeline(container, Clock(at_2330)).run([inbox])
    for message in (urgent, inbox):
        done = await read(http, admin, message)
        assert (done["status"], done["attempts"]) == ("SENT", 1)


async def test_email_waits_unless_configured_not_to(app: Any, container: Container) -> None:
    http, admin, user = app
    at_2330 = datetime(2026, 6, 10, 3, 30, tzinfo=UTC)
    held = await accepted(http, admin, user, "EMAIL", "HIGH")
    await pipeline(container, Clock(at_2330)).run([held])
    assert (await read(http, admin, held))["status"] == "SCHEDULED"

    goes = await accepted(http, admin, user, "EMAIL", "HIGH")
    only_phones = {Channel.SMS, Channel.PUSH}  # CLARION_QUIET_HOURS_EMAIL=false
    await pipeline(container, Clock(at_2330), quiet_channels=only_phones).run([goes])
    assert (await read(http, admin, goes))["status"] == "SENT"


async def test_quiet_hours_need_a_real_zone_and_sane_windows(app: Any) -> None:
    http, admin, user = app
    cases = [
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": "../../etc/passwd"}, "timezone"),
        ({"quietHours": EVERY_NIGHT["quietHours"]}, "timezone"),
        ({**EVERY_NIGHT, "quietHours": [{"days": ["MON"], "from": "22:00", "to": "22:00"}]}, ""),
        ({**EVERY_NIGHT, "quietHours": [{"days": ["MON"], "from": "24:00", "to": "07:00"}]}, ""),
        ({**EVERY_NIGHT, "quietHours": [{"days": ["FUNDAY"], "from": "22:00", "to": "07:00"}]}, ""),
    ]
    for body, field in cases:
        answer = await http.put(f"/users/{user}/preferences", headers=admin, json=body)
        assert answer.status_code == 422, (body, answer.text)
        assert field in answer.json()["details"][0]["field"]
    kept = (await http.get(f"/users/{user}/preferences", headers=admin)).json()
    assert kept["timezone"] == "America/New_York"
    assert kept["quietHours"] == EVERY_NIGHT["quietHours"]
    cleared = await http.patch(
        f"/users/{user}/preferences", headers=admin, json={"quietHours": None}
    )
    assert cleared.json()["quietHours"] == []
    assert cleared.json()["timezone"] == "America/New_York"
