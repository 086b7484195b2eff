"""Who may send, read, change and cancel notifications, and who may run the pipeline's
admin endpoints: every endpoint against every kind of caller (tests/support/matrix.py).

The notifications in the matrix belong to user B, so user A is the other user: for
A they do not exist (404), and A may not send to B (403). Keys are callers with
scopes: the service key holds every scope but `admin`, the read-only and write-only
keys one notification scope each. A missing scope is 403 wherever it is asked for,
whether or not the notification exists: that tells a caller nothing about anyone's
data, and tells an operator what the key lacks.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from clarion.bootstrap import Container
from clarion.domain.enums import EventType, NotificationStatus
from clarion.domain.notifications import NotificationRecord
from clarion.domain.pipeline import DeliveryOutcome
from clarion.domain.time import utcnow
from tests.support.identity import Caller, World, build_world, error_shape_problem
from tests.support.matrix import Call, Endpoint, Row, admin_only, check_row, row

S = NotificationStatus
READS_ALL = frozenset({Caller.ADMIN, Caller.ADMIN_KEY, Caller.SERVICE_KEY, Caller.READ_ONLY_KEY})


def sending_to_b(ok: int) -> Row:
    """A user sends only to themself; admins and write-scoped keys to anyone."""
    return row(
        {
            Caller.USER_B: ok,
            Caller.ADMIN: ok,
            Caller.ADMIN_KEY: ok,
            Caller.SERVICE_KEY: ok,
            Caller.WRITE_ONLY_KEY: ok,
            Caller.USER_A: 403,
            Caller.READ_ONLY_KEY: 403,
        }
    )


def about_bs_notification(ok: int, *, read_only_key: int, write_only_key: int) -> Row:
    """B's own: B and admins get `ok`, the service key too; for A it does not exist."""
    return row(
        {
            Caller.USER_B: ok,
            Caller.ADMIN: ok,
            Caller.ADMIN_KEY: ok,
            Caller.SERVICE_KEY: ok,
            Caller.USER_A: 404,
            Caller.READ_ONLY_KEY: read_only_key,
            Caller.WRITE_ONLY_KEY: write_only_key,
        }
    )


def a_read(ok: int) -> Row:
    return about_bs_notification(ok, read_only_key=ok, write_only_key=403)


def a_write(ok: int) -> Row:
    return about_bs_notification(ok, read_only_key=403, write_only_key=ok)


MATRIX: dict[Endpoint, Row] = {
    ("POST", "/notifications"): sending_to_b(201),
    ("POST", "/notifications/batch"): sending_to_b(200),
    # each user gets their own (the judge checks whose); a key needs the read scope
    ("GET", "/notifications"): row(
        {
            **dict.fromkeys(READS_ALL | {Caller.USER_A, Caller.USER_B}, 200),
            Caller.WRITE_ONLY_KEY: 403,
        }
    ),
    ("GET", "/notifications/user/{user_id}"): a_read(200),
    ("GET", "/notifications/{notification_id}"): a_read(200),
    ("GET", "/notifications/{notification_id}/events"): a_read(200),
    ("PATCH", "/notifications/{notification_id}"): a_write(200),
    ("DELETE", "/notifications/{notification_id}"): a_write(204),
    ("GET", "/admin/dlq"): admin_only(200),
    ("POST", "/admin/notifications/{notification_id}/retry"): admin_only(200),
    ("GET", "/admin/sandbox/messages"): admin_only(200),
    ("GET", "/admin/metrics"): admin_only(200),
    ("GET", "/admin/queue/stats"): admin_only(200),
}


# --- notifications in known states ----------------------------------------------------


def in_app(user_id: uuid.UUID, **extra: Any) -> dict[str, Any]:
    payload = {"title": "Hello", "body": "From the access matrix"}
    return {
        "userId": str(user_id),
        "channel": "IN_APP",
        "type": "ALERT",
        "payload": payload,
    } | extra


def an_hour_ahead() -> str:
    return (datetime.now(UTC) + timedelta(hours=1)).isoformat()


async def send(client: httpx.AsyncClient, world: World, body: dict[str, Any]) -> uuid.UUID:
    response = await client.post("/notifications", json=body, headers=world.admin.headers)
    assert response.status_code == 201, response.text
    return uuid.UUID(response.json()["id"])


async def scheduled(client: httpx.AsyncClient, world: World, user_id: uuid.UUID) -> uuid.UUID:
    """Due in an hour: no worker takes it, so it can be changed and cancelled."""
    return await send(client, world, in_app(user_id, scheduledFor=an_hour_ahead()))


async def delivered(
    container: Container, client: httpx.AsyncClient, world: World, outcome: NotificationStatus
) -> uuid.UUID:
    """B's notification taken by a worker's claim to SENT or FAILED (dead-lettered),
    through the same repository calls the pipeline makes."""
    notification_id = await send(client, world, in_app(world.user_b.id))
    uow = container.unit_of_work()
    try:
        now = utcnow()
        [claimed] = await uow.notifications.claim([notification_id], now)
        failed = outcome is S.FAILED
        result = DeliveryOutcome(
            notification_id=notification_id,
            user_id=claimed.record.user_id,
            channel=claimed.record.channel,
            status=outcome,
            event=EventType(outcome.value),
            provider="sandbox",
            error="refused in the access matrix" if failed else None,
        )
        await uow.notifications.record_outcomes([result], now, claimed_at=now)
        await uow.commit()
    finally:
        await uow.close()
    return notification_id


async def stored(
    container: Container, notification_id: uuid.UUID
) -> tuple[NotificationRecord | None, list[Any]]:
    """The notification and its events as the database has them, past any cache."""
    uow = container.unit_of_work()
    try:
        record = await uow.notifications.get(notification_id)
        return record, await uow.notifications.events(notification_id)
    finally:
        await uow.close()


@dataclass(frozen=True)
class Scene:
    world: World
    a_scheduled: uuid.UUID
    b_scheduled: uuid.UUID
    b_dead_letter: uuid.UUID


@pytest.fixture
async def scene(client: httpx.AsyncClient, container: Container) -> Scene:
    world = await build_world(client, container)
    return Scene(
        world=world,
        a_scheduled=await scheduled(client, world, world.user_a.id),
        b_scheduled=await scheduled(client, world, world.user_b.id),
        b_dead_letter=await delivered(container, client, world, S.FAILED),
    )


# --- the matrix -----------------------------------------------------------------------


async def resolve_call(
    endpoint: Endpoint, scene: Scene, client: httpx.AsyncClient, c: Container
) -> Call:
    """Cells that use their target up (a cancellation, a re-drive) get a fresh one."""
    method, template = endpoint
    world, b = scene.world, scene.world.user_b.id
    if template == "/notifications" and method == "POST":
        return Call(template, in_app(b), b)
    if template == "/notifications/batch":
        return Call(template, {"notifications": [in_app(b)]}, b)
    if "{user_id}" in template:
        return Call(template.format(user_id=b), target=b)
    if "{notification_id}" not in template:
        return Call(template)
    if template.endswith("/retry"):
        target = await delivered(c, client, world, S.FAILED)
    elif method == "DELETE":
        target = await scheduled(client, world, b)
    else:
        target = scene.b_scheduled
    body = {"priority": "HIGH"} if method == "PATCH" else None
    return Call(template.format(notification_id=target), body, target)


def body_problem(
    body: Any, endpoint: Endpoint, caller: Caller, scene: Scene, call: Call
) -> str | None:
    """What a success must say: about the target, and a page only whose it may be."""
    method, template = endpoint
    world, target = scene.world, str(call.target)
    if template == "/notifications/batch":
        [result] = body["results"]
        got = (body["created"], result["status"], result["notification"]["userId"])
        return None if got == (1, 201, target) else f"batch answered {got}"
    if template == "/notifications" and method == "POST":
        return None if body["userId"] == target else f"sent to {body['userId']}"
    if "items" in body:
        owners = {item["userId"] for item in body["items"]}
        if call.target is not None:
            wanted = {target}
        elif caller in READS_ALL:
            wanted = {str(world.user_a.id), str(world.user_b.id)}
        else:
            wanted = {str(world.identity(caller))}
        return None if owners == wanted else f"a page of {owners}, wanted {wanted}"
    if template.endswith("/events"):
        about = {event["notificationId"] for event in body}
        return None if about == {target} else f"events of {about}"
    if template == "/admin/dlq":
        letters = [letter["notification"]["id"] for letter in body]
        return None if str(scene.b_dead_letter) in letters else f"dead letters {letters}"
    if template == "/admin/metrics":
        return None if {"queue", "cache"} <= set(body) else f"metrics {sorted(body)}"
    if template == "/admin/queue/stats":
        return None if {"backlog", "transport"} <= set(body) else f"stats {sorted(body)}"
    if template == "/admin/sandbox/messages":
        return None if isinstance(body, list) else f"messages {body!r:.60}"
    if body.get("id") != target:
        return f"answered about {body.get('id')}, not the target {target}"
    if template.endswith("/retry") and body["status"] != "PENDING":
        return f"re-driven to {body['status']}"
    if method == "PATCH" and body["priority"] != "HIGH":
        return f"priority {body['priority']} after the change"
    return None


@pytest.mark.parametrize("endpoint", list(MATRIX), ids=[f"{m} {p}" for m, p in MATRIX])
async def test_notification_access_matrix(
    endpoint: Endpoint, client: httpx.AsyncClient, container: Container, scene: Scene
) -> None:
    async def prepare(caller: Caller) -> Call:
        return await resolve_call(endpoint, scene, client, container)

    def judge(response: httpx.Response, caller: Caller, call: Call) -> str | None:
        return body_problem(response.json(), endpoint, caller, scene, call)

    await check_row(client, scene.world, endpoint, MATRIX[endpoint], prepare, judge)


# --- isolation between users --------------------------------------------------------


async def test_a_user_cannot_read_change_or_cancel_another_users_notification(
    client: httpx.AsyncClient, container: Container, scene: Scene
) -> None:
    a, b, nid = scene.world.user_a.headers, scene.world.user_b.headers, scene.b_scheduled
    # B reads first, so the notification sits in the cache when A asks for it
    assert (await client.get(f"/notifications/{nid}", headers=b)).status_code == 200
    before = await stored(container, nid)
    nobody = (await client.get(f"/notifications/{uuid.uuid4()}", headers=a)).json()
    url = f"/notifications/{nid}"
    attempts = {
        "GET": await client.get(url, headers=a),
        "GET events": await client.get(f"{url}/events", headers=a),
        "PATCH priority": await client.patch(url, json={"priority": "URGENT"}, headers=a),
        "PATCH send now": await client.patch(url, json={"scheduledFor": None}, headers=a),
        "PATCH cancel": await client.patch(url, json={"status": "CANCELLED"}, headers=a),
        "DELETE": await client.delete(url, headers=a),
    }
    for what, response in attempts.items():
        assert response.status_code == 404, f"{what}: {response.text}"
        # the same answer as for a notification that does not exist: no existence oracle
        assert response.json() == nobody, what
    bs_list = await client.get(f"/notifications/user/{scene.world.user_b.id}", headers=a)
    assert bs_list.status_code == 404, bs_list.text
    assert error_shape_problem(bs_list, "not_found") is None
    own = await client.get("/notifications", params={"status": "SCHEDULED"}, headers=a)
    assert [item["id"] for item in own.json()["items"]] == [str(scene.a_scheduled)]

    assert await stored(container, nid) == before, "B's notification or its events changed"
    seen_by_b = (await client.get(url, headers=b)).json()
    assert (seen_by_b["status"], seen_by_b["priority"]) == ("SCHEDULED", "MEDIUM")


async def test_a_user_cannot_send_to_another_user(
    client: httpx.AsyncClient, container: Container, scene: Scene
) -> None:
    world = scene.world
    a, admin = world.user_a.headers, world.admin.headers
    a_id, b_id = world.user_a.id, world.user_b.id

    async def owned(user_id: uuid.UUID) -> list[str]:
        page = await client.get(f"/notifications/user/{user_id}", headers=admin)
        return sorted(item["id"] for item in page.json()["items"])

    before = {a_id: await owned(a_id), b_id: await owned(b_id)}
    to_b = await client.post("/notifications", json=in_app(b_id), headers=a)
    # one of A's items addresses B: the whole batch is refused, A's own item too
    mixed = {"notifications": [in_app(a_id), in_app(b_id)]}
    batch = await client.post("/notifications/batch", json=mixed, headers=a)
    to_nobody = await client.post("/notifications", json=in_app(uuid.uuid4()), headers=a)
    for response in (to_b, batch, to_nobody):
        assert response.status_code == 403, response.text
        assert error_shape_problem(response, "forbidden") is None
    # whether the other user exists makes no difference to A's answer
    assert to_nobody.json() == to_b.json()
    assert {a_id: await owned(a_id), b_id: await owned(b_id)} == before, "something was sent"


async def test_a_users_batch_to_an_unknown_user_is_refused_like_one_to_another_user(
    client: httpx.AsyncClient, scene: Scene
) -> None:
    """A user may address only themself, in a batch as in a single send: an item for
    a user who does not exist must not get an answer different from one for B, or A
    could tell which user ids exist."""
    a, b_id = scene.world.user_a.headers, scene.world.user_b.id
    to_b = await client.post(
        "/notifications/batch", json={"notifications": [in_app(b_id)]}, headers=a
    )
    unknown = {"notifications": [in_app(uuid.uuid4())]}
    to_nobody = await client.post("/notifications/batch", json=unknown, headers=a)
    assert to_b.status_code == 403, to_b.text
    assert to_nobody.status_code == 403, f"to an unknown user: {to_nobody.text[:300]}"
    assert to_nobody.json() == to_b.json()


async def test_an_unknown_recipient_is_invalid_for_callers_who_may_address_anyone(
    client: httpx.AsyncClient, scene: Scene
) -> None:
    world = scene.world
    for caller in (Caller.ADMIN, Caller.SERVICE_KEY, Caller.WRITE_ONLY_KEY):
        headers = world.headers(caller)
        single = await client.post("/notifications", json=in_app(uuid.uuid4()), headers=headers)
        assert single.status_code == 422, f"{caller}: {single.text}"
        assert error_shape_problem(single, "validation_error") is None
        assert [d["field"] for d in single.json()["details"]] == ["userId"]
        items = {"notifications": [in_app(uuid.uuid4()), in_app(world.user_b.id)]}
        batch = await client.post("/notifications/batch", json=items, headers=headers)
        assert batch.status_code == 200, f"{caller}: {batch.text}"
        body = batch.json()
        assert (body["created"], body["failed"]) == (1, 1), caller
        assert [r["status"] for r in body["results"]] == [422, 201], caller


async def test_an_idempotency_key_replays_only_to_the_caller_who_used_it(
    client: httpx.AsyncClient, scene: Scene
) -> None:
    """Keys are scoped per caller: A reusing B's key and body gets A's own answer (403),
    not B's stored response with B's notification in it."""
    a, b = scene.world.user_a.headers, scene.world.user_b.headers
    body = in_app(scene.world.user_b.id)
    key = {"Idempotency-Key": "same-key-for-both"}
    first = await client.post("/notifications", json=body, headers=b | key)
    assert first.status_code == 201, first.text
    by_a = await client.post("/notifications", json=body, headers=a | key)
    assert by_a.status_code == 403, by_a.text
    assert "idempotent-replayed" not in by_a.headers
    again = await client.post("/notifications", json=body, headers=b | key)
    assert (again.status_code, again.headers.get("idempotent-replayed")) == (201, "true")
    assert again.json()["id"] == first.json()["id"]


# --- what may be cancelled ---------------------------------------------------------


async def test_only_a_pending_or_scheduled_notification_can_be_changed_or_cancelled(
    client: httpx.AsyncClient, container: Container, scene: Scene
) -> None:
    world = scene.world
    b, admin = world.user_b.headers, world.admin.headers
    sent = await delivered(container, client, world, S.SENT)
    before = await stored(container, sent)
    url = f"/notifications/{sent}"
    refused = {
        "DELETE by B": await client.delete(url, headers=b),
        "DELETE by the admin": await client.delete(url, headers=admin),
        "PATCH cancel": await client.patch(url, json={"status": "CANCELLED"}, headers=b),
        "PATCH priority": await client.patch(url, json={"priority": "LOW"}, headers=b),
    }
    for what, response in refused.items():
        assert response.status_code == 409, f"{what}: {response.text}"
        assert error_shape_problem(response, "conflict") is None, what
    assert await stored(container, sent) == before, "the SENT notification changed"

    pending = await send(client, world, in_app(world.user_b.id))
    for nid in (pending, scene.b_scheduled):
        cancel = await client.delete(f"/notifications/{nid}", headers=b)
        assert cancel.status_code == 204, cancel.text
        record, events = await stored(container, nid)
        assert record is not None
        assert (record.status, events[-1].type) == (S.CANCELLED, EventType.CANCELLED)
        twice = await client.delete(f"/notifications/{nid}", headers=b)
        assert twice.status_code == 409, twice.text
