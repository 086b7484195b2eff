"""Two admins who retire each other at the same moment leave one admin, not none:
one request succeeds and the other is refused."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace

import httpx
import pytest

from clarion.bootstrap import Container
from clarion.domain.enums import Role
from tests.support.apps import promote_to_admin
from tests.support.identity import access_token, add_user


async def admin(container: Container, email: str) -> tuple[uuid.UUID, dict[str, str]]:
    user_id = await add_user(container, email)
    await promote_to_admin(container, user_id)
    return user_id, {"Authorization": f"Bearer {access_token(container, user_id)}"}


async def admins_left(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    page = await client.get("/admin/users", params={"limit": 100}, headers=headers)
    return sum(1 for user in page.json()["items"] if user["role"] == "ADMIN")


async def demote_directly(container: Container, user_id: uuid.UUID) -> None:
    uow = container.unit_of_work()
    try:
        user = await uow.users.get(user_id)
        if user is not None:
            await uow.users.save(replace(user, role=Role.USER))
            container.auth.principals.forget_user(uow, user_id)
        await uow.commit()
    finally:
        await uow.close()


@pytest.mark.parametrize("how", ["demote", "delete", "one of each"])
async def test_two_admins_retiring_each_other_at_once_leave_one(
    client: httpx.AsyncClient, container: Container, how: str
) -> None:
    async def retire(target: uuid.UUID, by: dict[str, str], delete: bool) -> httpx.Response:
        if delete:
            return await client.delete(f"/users/{target}", headers=by)
        return await client.post(f"/admin/users/{target}/role", json={"role": "USER"}, headers=by)

    survivor: uuid.UUID | None = None
    for round_ in range(5):
        if survivor is not None:  # each round starts with exactly two admins
            await demote_directly(container, survivor)
        a_id, a = await admin(container, f"a{round_}@example.com")
        b_id, b = await admin(container, f"b{round_}@example.com")
        first, second = await asyncio.gather(
            retire(b_id, a, delete=how != "demote"), retire(a_id, b, delete=how == "delete")
        )
        answers = [first.status_code, second.status_code]
        # one succeeds; the other is the last admin's (409), or, when it came
        # second, no admin's any more (403) or nobody's (401)
        assert sorted(answers)[0] in (200, 204), f"round {round_}: {answers}"
        assert sorted(answers)[1] in (401, 403, 409), f"round {round_}: {answers}"
        survivor, headers = (a_id, a) if first.status_code in (200, 204) else (b_id, b)
        assert await admins_left(client, headers) == 1, f"round {round_}"
