"""Authentication in steady state reads no database: the principal behind a
token or key is cached, and dropped on every change that alters what it may do,
in every API process at once when the cache is Redis."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from sqlalchemy import event

from clarion.bootstrap import Container
from tests.conftest import make_settings
from tests.support.apps import running
from tests.support.databases import REDIS_URL
from tests.support.identity import Caller, World, build_world, create_key


@contextmanager
def counted_statements(container: Container) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    engine = container.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def test_a_known_caller_is_authenticated_without_a_database_read(
    client: httpx.AsyncClient, container: Container
) -> None:
    """(A principal changed in the last few seconds is read until the cache's
    tombstone for the change expires; A and the admin key never changed.)"""
    world = await build_world(client, container)
    for caller, status in ((Caller.USER_A, 403), (Caller.ADMIN_KEY, 200)):
        headers = world.headers(caller)
        assert (await client.get("/admin/metrics", headers=headers)).status_code == status
        with counted_statements(container) as statements:
            again = await client.get("/admin/metrics", headers=headers)
        assert again.status_code == status
        assert statements == [], f"{caller}: {statements}"


async def test_changes_reach_the_callers_next_request(
    client: httpx.AsyncClient, container: Container
) -> None:
    world = await build_world(client, container)
    admin, b = world.admin.headers, world.user_b
    assert (await client.get("/users", headers=b.headers)).status_code == 403  # cached as USER
    promoted = await client.post(f"/admin/users/{b.id}/role", json={"role": "ADMIN"}, headers=admin)
    assert promoted.status_code == 200
    assert (await client.get("/users", headers=b.headers)).status_code == 200
    assert (await client.delete(f"/users/{b.id}", headers=admin)).status_code == 204
    assert (await client.get("/auth/me", headers=b.headers)).status_code == 401

    key = await create_key(client, admin, ["notifications:read"])
    as_key = {"X-API-Key": key.secret}
    assert (await client.get("/auth/me", headers=as_key)).status_code == 200
    assert (await client.delete(f"/admin/api-keys/{key.id}", headers=admin)).status_code == 200
    assert (await client.get("/auth/me", headers=as_key)).status_code == 401


async def test_a_revocation_in_one_api_process_reaches_another_at_once(
    database_url: str,
) -> None:
    """Two API processes on one database and one Redis: what one revokes, the
    other refuses on its very next request, though it had the principal cached."""
    settings = make_settings(database_url=database_url, redis_url=REDIS_URL)
    async with running(settings) as (first, container), running(settings) as (second, _):
        world: World = await build_world(first, container)
        admin = world.admin.headers
        key = await create_key(first, admin, ["notifications:read"])
        as_key = {"X-API-Key": key.secret}
        b = world.user_b
        for _ in range(2):  # the second answer comes from the cache
            assert (await second.get("/auth/me", headers=as_key)).status_code == 200
            assert (await second.get("/users", headers=b.headers)).status_code == 403

        assert (await first.delete(f"/admin/api-keys/{key.id}", headers=admin)).status_code == 200
        assert (await second.get("/auth/me", headers=as_key)).status_code == 401
        promoted = await first.post(
            f"/admin/users/{b.id}/role", json={"role": "ADMIN"}, headers=admin
        )
        assert promoted.status_code == 200
        assert (await second.get("/users", headers=b.headers)).status_code == 200


async def test_a_new_password_ends_every_access_token_issued_before_it(
    client: httpx.AsyncClient, container: Container
) -> None:
    email, old, new = "moving@example.com", "the old password 1", "the new password 2"
    assert (
        await client.post("/auth/register", json={"email": email, "password": old, "name": "M"})
    ).status_code == 201
    sessions = []
    for _ in range(2):  # two devices signed in
        tokens = (await client.post("/auth/login", json={"email": email, "password": old})).json()
        sessions.append({"Authorization": f"Bearer {tokens['accessToken']}"})
    me = (await client.get("/auth/me", headers=sessions[0])).json()["id"]
    other = await build_world(client, container)
    await asyncio.sleep(1.1)  # a token's `iat` is in whole seconds
    body = {"password": new, "currentPassword": old}
    changed = await client.patch(f"/users/{me}", json=body, headers=sessions[0])
    assert changed.status_code == 200, changed.text
    for headers in sessions:
        assert (await client.get("/auth/me", headers=headers)).status_code == 401
    fresh = (await client.post("/auth/login", json={"email": email, "password": new})).json()
    again = {"Authorization": f"Bearer {fresh['accessToken']}"}
    assert (await client.get("/auth/me", headers=again)).status_code == 200
    # nobody else was signed out
    assert (await client.get("/auth/me", headers=other.user_a.headers)).status_code == 200
