"""Finding 1 of the hardening review: Clarion must not be an open relay.

An ordinary user's notifications go only to their own contacts; explicit
addresses, device tokens and webhook URLs are for admins and API keys with
`notifications:write`. Accounts are opened by admins unless registration is
open, and a batch costs as many notifications as it holds.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from clarion.bootstrap import Container
from tests.conftest import make_settings
from tests.support.apps import running
from tests.support.identity import PASSWORD, Caller, World, build_world, error_shape_problem

# one explicit recipient per channel, none of them the sender's own
ADDRESSED: dict[str, dict[str, Any]] = {
    "EMAIL": {"subject": "Hi", "body": "x", "to": "someone@elsewhere.example"},
    "SMS": {"body": "x", "to": "+15551234567"},
    "PUSH": {"title": "Hi", "body": "x", "token": "a-device-token-of-someone-else"},
    "WEBHOOK": {"url": "https://hooks.elsewhere.example/in", "data": {"x": 1}},
}


# the field a refusal names: webhooks as a whole are for admins and keys
REFUSED_FIELD = {
    "EMAIL": "payload.to",
    "SMS": "payload.to",
    "PUSH": "payload.token",
    "WEBHOOK": "channel",
}


def addressed(channel: str, user_id: uuid.UUID) -> dict[str, Any]:
    return {
        "userId": str(user_id),
        "channel": channel,
        "type": "ALERT",
        "payload": ADDRESSED[channel],
    }


@pytest.fixture
async def world(client: httpx.AsyncClient, container: Container) -> World:
    return await build_world(client, container)


async def sent_by(client: httpx.AsyncClient, world: World, user_id: uuid.UUID) -> list[str]:
    page = await client.get(f"/notifications/user/{user_id}", headers=world.admin.headers)
    assert page.status_code == 200, page.text
    return [item["id"] for item in page.json()["items"]]


@pytest.mark.parametrize("channel", list(ADDRESSED))
async def test_a_user_cannot_address_anyone_but_themself(
    client: httpx.AsyncClient, world: World, channel: str
) -> None:
    a = world.user_a
    single = await client.post("/notifications", json=addressed(channel, a.id), headers=a.headers)
    assert single.status_code == 403, single.text
    assert error_shape_problem(single, "forbidden") is None
    assert single.json()["details"][0]["field"] == REFUSED_FIELD[channel]
    batch = await client.post(
        "/notifications/batch",
        json={"notifications": [addressed(channel, a.id) for _ in range(3)]},
        headers=a.headers,
    )
    assert batch.status_code == 403, batch.text
    assert await sent_by(client, world, a.id) == [], "something was stored"


@pytest.mark.parametrize("channel", list(ADDRESSED))
async def test_a_key_with_notifications_write_still_addresses_anyone(
    client: httpx.AsyncClient, world: World, channel: str
) -> None:
    for caller in (Caller.SERVICE_KEY, Caller.WRITE_ONLY_KEY, Caller.ADMIN):
        body = addressed(channel, world.user_b.id)
        response = await client.post("/notifications", json=body, headers=world.headers(caller))
        assert response.status_code == 201, f"{caller}: {response.text}"
        assert response.json()["payload"] == ADDRESSED[channel]


async def test_a_user_still_reaches_their_own_contacts(
    client: httpx.AsyncClient, world: World
) -> None:
    a = world.user_a
    own = {"userId": str(a.id), "channel": "EMAIL", "type": "ALERT"}
    response = await client.post(
        "/notifications", json={**own, "payload": {"subject": "Hi", "body": "x"}}, headers=a.headers
    )
    assert response.status_code == 201, response.text
    assert "to" not in response.json()["payload"]  # the worker uses the email on file


async def test_closed_registration_refuses_anyone_and_admins_open_accounts(
    database_url: str,
) -> None:
    settings = make_settings(database_url=database_url, registration="closed")
    async with running(settings) as (http, container):
        body = {"email": "new@example.com", "password": PASSWORD, "name": "New"}
        refused = await http.post("/auth/register", json=body)
        assert refused.status_code == 403, refused.text
        assert error_shape_problem(refused, "forbidden") is None

        world = await build_world(http, container)
        by_user = await http.post("/admin/users", json=body, headers=world.user_a.headers)
        assert by_user.status_code == 403
        opened = await http.post("/admin/users", json=body, headers=world.admin.headers)
        assert opened.status_code == 201, opened.text
        again = await http.post("/admin/users", json=body, headers=world.admin.headers)
        assert again.status_code == 409
        login = await http.post("/auth/login", json={"email": body["email"], "password": PASSWORD})
        assert login.status_code == 200


def budgeted(database_url: str, **tiers: str) -> Any:
    requests = "1000/minute"
    return make_settings(
        database_url=database_url,
        rate_limit_enabled=True,
        rate_limit_user=requests,
        rate_limit_admin=requests,
        rate_limit_api_key=requests,
        **tiers,
    )


def own_in_app(user_id: uuid.UUID, count: int) -> dict[str, Any]:
    item = {
        "userId": str(user_id),
        "channel": "IN_APP",
        "type": "ALERT",
        "payload": {"title": "t", "body": "b"},
    }
    return {"notifications": [item] * count}


async def test_a_batch_costs_as_many_notifications_as_it_holds(database_url: str) -> None:
    settings = budgeted(database_url, rate_limit_notifications_user="5/minute")
    async with running(settings) as (http, container):
        world = await build_world(http, container)
        a = world.user_a
        too_many = await http.post(
            "/notifications/batch", json=own_in_app(a.id, 6), headers=a.headers
        )
        assert too_many.status_code == 429, too_many.text
        assert int(too_many.headers["retry-after"]) >= 1

        first = await http.post("/notifications/batch", json=own_in_app(a.id, 3), headers=a.headers)
        assert first.status_code == 200, first.text
        assert "r=2" in first.headers["ratelimit"], first.headers["ratelimit"]
        second = await http.post(
            "/notifications/batch", json=own_in_app(a.id, 3), headers=a.headers
        )
        assert second.status_code == 429, second.text
        single = await http.post(
            "/notifications", json=own_in_app(a.id, 1)["notifications"][0], headers=a.headers
        )
        assert single.status_code == 201, single.text
        assert len(await sent_by(http, world, a.id)) == 4  # the refused batches stored nothing


async def test_a_keys_budget_counts_notifications_too(database_url: str) -> None:
    settings = budgeted(database_url, rate_limit_notifications_api_key="10/minute")
    async with running(settings) as (http, container):
        world = await build_world(http, container)
        key = world.headers(Caller.SERVICE_KEY)
        full = await http.post(
            "/notifications/batch", json=own_in_app(world.user_b.id, 10), headers=key
        )
        assert full.status_code == 200, full.text
        assert full.json()["created"] == 10
        over = await http.post(
            "/notifications", json=own_in_app(world.user_b.id, 1)["notifications"][0], headers=key
        )
        assert over.status_code == 429, over.text
