"""Findings 2, 5 and 6 of the hardening review: malformed input is a 422 that
names its field (never a 500), a batch answers per item, and an email field
holds exactly one mailbox."""

from __future__ import annotations

import base64
import json
import re
import uuid
from typing import Any

import httpx
import pytest

from clarion.bootstrap import Container
from tests.support.identity import Caller, World, build_world, error_shape_problem

HUGE = 2**63


@pytest.fixture
async def world(client: httpx.AsyncClient, container: Container) -> World:
    return await build_world(client, container)


def fields(response: httpx.Response) -> set[str]:
    return {detail["field"] for detail in response.json()["details"]}


def email(user_id: uuid.UUID, **payload: Any) -> dict[str, Any]:
    return {
        "userId": str(user_id),
        "channel": "EMAIL",
        "type": "ALERT",
        "payload": {"subject": "s", "body": "b", **payload},
    }


@pytest.mark.parametrize("depth", [40, 900, 5000])
async def test_deeply_nested_bodies_are_refused_without_a_crash(
    client: httpx.AsyncClient, depth: int
) -> None:
    body = "[" * depth + "]" * depth
    for path in ("/auth/login", "/auth/register"):
        response = await client.post(
            path, content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code in (400, 422), f"{path} depth {depth}: {response.text[:200]}"
    inside = '{"email": "a@b.example", "password": ' + '{"k": ' * depth + "1" + "}" * depth + "}"
    response = await client.post(
        "/auth/login", content=inside, headers={"Content-Type": "application/json"}
    )
    assert response.status_code in (400, 422), response.text[:200]


@pytest.mark.parametrize("path", ["/users", "/admin/users", "/admin/dlq", "/users/me/inbox"])
async def test_an_offset_beyond_any_table_is_a_422(
    client: httpx.AsyncClient, world: World, path: str
) -> None:
    response = await client.get(path, params={"offset": HUGE}, headers=world.admin.headers)
    assert response.status_code == 422, response.text
    assert fields(response) == {"offset"}


async def test_any_rfc3339_offset_is_read_and_out_of_range_times_are_a_422(
    client: httpx.AsyncClient, world: World
) -> None:
    admin = world.admin.headers
    listed = await client.get(
        "/notifications", params={"createdTo": "2030-01-01T00:00:00-23:59"}, headers=admin
    )
    assert listed.status_code == 200, listed.text
    for value in ("0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59-23:59", "0.5", "1700000000"):
        refused = await client.get("/notifications", params={"createdTo": value}, headers=admin)
        assert refused.status_code == 422, f"{value}: {refused.text}"
        assert fields(refused) == {"createdTo"}

    body = email(world.user_b.id, to="b@example.com")
    scheduled = await client.post(
        "/notifications", json={**body, "scheduledFor": "2099-06-01T00:30:00-23:59"}, headers=admin
    )
    assert scheduled.status_code == 201, scheduled.text
    assert scheduled.json()["scheduledFor"].startswith("2099-06-02T00:29:00")
    for value in ("0001-01-01T00:00:00+23:59", 0.5, "2099-06-01"):
        refused = await client.post(
            "/notifications", json={**body, "scheduledFor": value}, headers=admin
        )
        assert refused.status_code == 422, f"{value}: {refused.text}"
        assert fields(refused) == {"scheduledFor"}


async def test_a_cursor_with_an_unrepresentable_time_is_a_422(
    client: httpx.AsyncClient, world: World
) -> None:
    raw = f"0001-01-01T00:00:00+23:59|{uuid.uuid4()}".encode()
    cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    response = await client.get(
        "/notifications", params={"cursor": cursor}, headers=world.admin.headers
    )
    assert response.status_code == 422, response.text
    assert fields(response) == {"cursor"}


@pytest.mark.parametrize("url", ["http://[::1", "http://[64:ff9b::a9fe:a9fe]/", "http://[zz]/"])
async def test_a_malformed_or_internal_webhook_url_is_a_422_on_payload_url(
    client: httpx.AsyncClient, world: World, url: str
) -> None:
    body = {
        "userId": str(world.user_b.id),
        "channel": "WEBHOOK",
        "type": "ALERT",
        "payload": {"url": url, "data": {}},
    }
    response = await client.post("/notifications", json=body, headers=world.admin.headers)
    assert response.status_code == 422, response.text
    assert error_shape_problem(response, "validation_error") is None
    assert fields(response) == {"payload.url"}


async def test_a_batch_answers_each_bad_item_and_creates_the_good_ones(
    client: httpx.AsyncClient, world: World
) -> None:
    good = email(world.user_b.id, to="b@example.com")
    items: list[Any] = [
        good,
        {
            "userId": str(world.user_b.id),
            "channel": "WEBHOOK",
            "type": "ALERT",
            "payload": {"url": "http://[::1", "data": {}},
        },
        {**good, "scheduledFor": "0001-01-01T00:00:00+23:59"},
        "not an object",
        17,
        None,
        email(world.user_b.id, to="ok@x.example,postmaster,root"),
        good,
    ]
    response = await client.post(
        "/notifications/batch",
        json={"notifications": items},
        headers=world.headers(Caller.SERVICE_KEY),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert [r["status"] for r in body["results"]] == [201, 422, 422, 422, 422, 422, 422, 201]
    assert (body["created"], body["failed"]) == (2, 6)
    named = [r["error"]["details"][0]["field"] for r in body["results"] if r["status"] == 422]
    assert named[0] == "payload.url"
    assert named[1] == "scheduledFor"
    assert named[-1] == "payload.to"


@pytest.mark.parametrize(
    "to",
    [
        "ok@x.example,postmaster,root",
        "ok@x.example;root@localhost",
        "Someone <ok@x.example>",
        "ok@x.example\r\nRCPT TO:<root>",
        "ok@x.example root@localhost",
        "postmaster",
    ],
)
async def test_an_email_address_field_holds_exactly_one_mailbox(
    client: httpx.AsyncClient, world: World, to: str
) -> None:
    response = await client.post(
        "/notifications", json=email(world.user_b.id, to=to), headers=world.admin.headers
    )
    assert response.status_code == 422, response.text
    assert fields(response) == {"payload.to"}
    register = {"email": to, "password": "long enough password", "name": "X"}
    assert (await client.post("/auth/register", json=register)).status_code == 422


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
async def test_nan_or_an_infinity_in_a_payload_is_a_422_not_a_500_or_a_null(
    client: httpx.AsyncClient, world: World, number: str
) -> None:
    """Python's JSON reader accepts NaN and Infinity; JSON (RFC 8259) has no such
    numbers, PostgreSQL's jsonb refuses them, and a client could not read them back."""
    item = {
        "userId": str(world.user_b.id),
        "channel": "IN_APP",
        "type": "ALERT",
        "payload": {"title": "t", "body": "b", "data": {"score": "NUMBER"}},
    }
    single = json.dumps(item).replace('"NUMBER"', number)
    headers = {**world.headers(Caller.SERVICE_KEY), "Content-Type": "application/json"}
    response = await client.post("/notifications", content=single, headers=headers)
    assert response.status_code == 422, response.text
    assert error_shape_problem(response, "validation_error") is None
    assert "finite" in response.text

    batch = f'{{"notifications": [{single}, {json.dumps(item)}]}}'
    response = await client.post("/notifications/batch", content=batch, headers=headers)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert [r["status"] for r in answer["results"]] == [422, 201]
    assert (answer["created"], answer["failed"]) == (1, 1)


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/users?search=a%00b"),
        ("GET", "/admin/suppressions?channel=EMAIL&offset=%00"),
        ("DELETE", "/admin/suppressions/EMAIL/nul%00%40example.com"),
        ("GET", "/notifications?limit=10&cursor=%00"),
        ("GET", "/templates/a%00b"),
    ],
)
async def test_a_nul_in_the_path_or_the_query_is_a_422_for_anyone_not_a_500(
    client: httpx.AsyncClient, world: World, method: str, url: str
) -> None:
    """PostgreSQL cannot compare text holding U+0000: a search or an address that
    carried one used to reach it and answer 500."""
    for caller in (Caller.ADMIN, Caller.ANONYMOUS):
        response = await client.request(method, url, headers=world.headers(caller))
        assert response.status_code == 422, (caller, response.text)
        assert error_shape_problem(response, "validation_error") is None
        assert "NUL" in response.json()["message"]


async def test_a_nul_in_the_console_sign_in_form_is_a_wrong_login_not_a_500(
    client: httpx.AsyncClient,
) -> None:
    form = await client.get("/console/login")
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', form.text)
    assert csrf is not None, form.text
    fields = {"csrf": csrf.group(1), "next": "/console/overview", "password": "any password"}
    origin = {"Origin": str(client.base_url).rstrip("/")}
    for email in ["nul\x00@example.com", "\x00"]:
        refused = await client.post(
            "/console/login", data={**fields, "email": email}, headers=origin
        )
        assert refused.status_code == 401, refused.text
        assert "The email or password is wrong." in refused.text
