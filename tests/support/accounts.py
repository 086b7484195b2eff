"""A `clarion serve` with a known admin, and accounts signed in through its API."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.processes import Server, clean_env

ADMIN_EMAIL = "root@example.com"
ADMIN_PASSWORD = "the admin password of the e2e server"
USER_PASSWORD = "an ordinary user password"


def serve_with_admin(workdir: Path) -> Server:
    """A fresh embedded server whose first admin is ADMIN_EMAIL. Registration is
    open, so POST /auth/register does more than refuse; rate limits are off
    (they have tests of their own), so a burst of requests is never refused."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = clean_env(
        CLARION_ADMIN_EMAIL=ADMIN_EMAIL,
        CLARION_ADMIN_PASSWORD=ADMIN_PASSWORD,
        CLARION_REGISTRATION="open",
        CLARION_RATE_LIMIT_ENABLED="false",
    )
    return Server(workdir, env).start()


@dataclass(frozen=True)
class Account:
    id: str
    email: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def login(url: str, email: str, password: str) -> Account:
    tokens = httpx.post(f"{url}/auth/login", json={"email": email, "password": password})
    assert tokens.status_code == 200, tokens.text
    access, refresh = tokens.json()["accessToken"], tokens.json()["refreshToken"]
    me = httpx.get(f"{url}/auth/me", headers={"Authorization": f"Bearer {access}"})
    assert me.status_code == 200, me.text
    return Account(me.json()["id"], email, access, refresh)


def login_admin(url: str) -> Account:
    return login(url, ADMIN_EMAIL, ADMIN_PASSWORD)


def register(url: str, email: str) -> Account:
    """A new ordinary user, signed in."""
    body = {"email": email, "password": USER_PASSWORD, "name": email.split("@")[0]}
    created = httpx.post(f"{url}/auth/register", json=body)
    assert created.status_code == 201, created.text
    return login(url, email, USER_PASSWORD)
