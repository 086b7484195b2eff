"""Requests that change their own caller, against a real `clarion serve`: the
cases the schemathesis run keeps away from its caller (test_schemathesis.py).

The account is read on every request, so deleting it or changing its role takes
effect at the next request, with the same token; an API key is looked up the
same way. The last admin can neither leave nor step down.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.accounts import (
    USER_PASSWORD,
    Account,
    login,
    login_admin,
    register,
    serve_with_admin,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    server = serve_with_admin(tmp_path)
    yield server.url
    server.stop()


def status(url: str, method: str, path: str, who: Account, json: object = None) -> int:
    return httpx.request(method, f"{url}{path}", headers=who.headers, json=json).status_code


def set_role(url: str, admin: Account, target: Account, role: str) -> int:
    return status(url, "POST", f"/admin/users/{target.id}/role", admin, json={"role": role})


def role_of(url: str, who: Account) -> str:
    me = httpx.get(f"{url}/auth/me", headers=who.headers)
    assert me.status_code == 200, me.text
    role: str = me.json()["role"]
    return role


def test_a_user_who_deletes_themself_is_signed_out_and_their_notifications_go(url: str) -> None:
    admin, user = login_admin(url), register(url, "leaving@example.com")
    notification = {
        "userId": user.id,
        "channel": "IN_APP",
        "type": "ALERT",
        "payload": {"title": "t", "body": "b"},
    }
    created = httpx.post(f"{url}/notifications", headers=user.headers, json=notification)
    assert created.status_code == 201, created.text
    path = f"/notifications/{created.json()['id']}"
    assert status(url, "GET", path, admin) == 200  # read once: a cached copy must not outlive it

    assert status(url, "DELETE", f"/users/{user.id}", user) == 204

    assert status(url, "GET", "/auth/me", user) == 401
    assert status(url, "GET", "/users/me/inbox", user) == 401
    refresh = httpx.post(f"{url}/auth/refresh", json={"refreshToken": user.refresh_token})
    assert refresh.status_code == 401
    signin = httpx.post(f"{url}/auth/login", json={"email": user.email, "password": USER_PASSWORD})
    assert signin.status_code == 401
    assert status(url, "GET", path, admin) == 404
    listed = httpx.get(f"{url}/notifications/user/{user.id}", headers=admin.headers)
    assert listed.status_code == 200
    assert listed.json()["items"] == []
    assert status(url, "GET", f"/users/{user.id}", admin) == 404


def test_an_admin_demoted_by_another_loses_admin_access_at_the_next_request(url: str) -> None:
    root, other = login_admin(url), register(url, "other@example.com")
    assert set_role(url, root, other, "ADMIN") == 200
    assert status(url, "GET", "/admin/users", other) == 200  # the token from before the promotion

    assert set_role(url, root, other, "USER") == 200

    assert status(url, "GET", "/admin/users", other) == 403
    assert status(url, "GET", "/admin/api-keys", other) == 403
    assert role_of(url, other) == "USER"  # still signed in, as a user


def test_the_last_admin_can_neither_step_down_nor_leave(url: str) -> None:
    root = login_admin(url)

    assert set_role(url, root, root, "USER") == 409
    assert status(url, "DELETE", f"/users/{root.id}", root) == 409

    assert role_of(url, root) == "ADMIN"
    assert status(url, "GET", "/admin/users", root) == 200


def test_an_admin_may_step_down_or_leave_while_another_admin_remains(url: str) -> None:
    root, second, third = login_admin(url), register(url, "b@x.io"), register(url, "c@x.io")
    for promoted in (second, third):
        assert set_role(url, root, promoted, "ADMIN") == 200

    assert set_role(url, second, second, "USER") == 200
    assert status(url, "GET", "/admin/users", second) == 403

    assert status(url, "DELETE", f"/users/{third.id}", third) == 204
    assert status(url, "GET", "/auth/me", third) == 401

    # root is the last admin now
    assert set_role(url, root, root, "USER") == 409
    assert status(url, "DELETE", f"/users/{root.id}", root) == 409
    assert role_of(url, root) == "ADMIN"


def test_an_api_key_that_revokes_itself_is_refused_at_the_next_request(url: str) -> None:
    admin = login_admin(url)
    created = httpx.post(
        f"{url}/admin/api-keys", headers=admin.headers, json={"name": "ops", "scopes": ["admin"]}
    )
    assert created.status_code == 201, created.text
    key_id, key = created.json()["id"], {"X-API-Key": created.json()["key"]}
    assert httpx.get(f"{url}/admin/api-keys", headers=key).status_code == 200

    assert httpx.delete(f"{url}/admin/api-keys/{key_id}", headers=key).status_code == 200

    assert httpx.get(f"{url}/admin/api-keys", headers=key).status_code == 401
    assert status(url, "GET", "/admin/api-keys", admin) == 200


def test_logout_and_a_new_password_end_the_callers_refresh_tokens(url: str) -> None:
    user = register(url, "careful@example.com")
    logout = httpx.post(f"{url}/auth/logout", json={"refreshToken": user.refresh_token})
    assert logout.status_code == 204
    refresh = httpx.post(f"{url}/auth/refresh", json={"refreshToken": user.refresh_token})
    assert refresh.status_code == 401

    again = login(url, user.email, USER_PASSWORD)
    new_password = {"password": "a brand new password", "currentPassword": USER_PASSWORD}
    assert status(url, "PATCH", f"/users/{user.id}", again, json=new_password) == 200
    refresh = httpx.post(f"{url}/auth/refresh", json={"refreshToken": again.refresh_token})
    assert refresh.status_code == 401
    old = httpx.post(f"{url}/auth/login", json={"email": user.email, "password": USER_PASSWORD})
    assert old.status_code == 401
    assert login(url, user.email, new_password["password"]).id == user.id
