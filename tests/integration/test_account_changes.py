"""Changing one's own email or password needs the current password: a stolen
access token alone cannot take the account over for good."""

import httpx

from clarion.bootstrap import Container
from tests.support.apps import signed_in_admin
from tests.support.identity import PASSWORD, login, register


def bearer(tokens: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['accessToken']}"}


async def test_own_password_and_email_changes_need_the_current_password(
    client: httpx.AsyncClient,
) -> None:
    user = await register(client, "owner@example.com")
    headers = bearer(await login(client, "owner@example.com"))
    path = f"/users/{user}"

    for change in ({"password": "taken over 12345"}, {"email": "thief@example.com"}):
        missing = await client.patch(path, headers=headers, json=change)
        assert missing.status_code == 422, missing.text
        assert [d["field"] for d in missing.json()["details"]] == ["currentPassword"]
        wrong = await client.patch(
            path, headers=headers, json={**change, "currentPassword": "a guess"}
        )
        assert wrong.status_code == 403, wrong.text
    # nothing changed: the old email and password still sign in
    assert (await login(client, "owner@example.com", PASSWORD))["accessToken"]

    # a name needs no password; the same email counts as no change
    renamed = await client.patch(
        path, headers=headers, json={"name": "Owner", "email": "OWNER@example.com"}
    )
    assert renamed.status_code == 200, renamed.text

    moved = await client.patch(
        path, headers=headers, json={"email": "new@example.com", "currentPassword": PASSWORD}
    )
    assert moved.status_code == 200, moved.text
    changed = await client.patch(
        path,
        headers=headers,
        json={"password": "a fresh password 9", "currentPassword": PASSWORD},
    )
    assert changed.status_code == 200, changed.text
    assert (await login(client, "new@example.com", "a fresh password 9"))["accessToken"]


async def test_an_admin_resets_someone_elses_account_without_their_password(
    client: httpx.AsyncClient, container: Container
) -> None:
    admin, _ = await signed_in_admin(client, container, "resetter@example.com")
    user = await register(client, "forgetful@example.com")
    reset = await client.patch(
        f"/users/{user}",
        headers=admin,
        json={"password": "set by the admin 1", "email": "found@example.com"},
    )
    assert reset.status_code == 200, reset.text
    assert (await login(client, "found@example.com", "set by the admin 1"))["accessToken"]
