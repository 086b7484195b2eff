"""Callers for access tests: real accounts and API keys, and forged or misused tokens.

Every bad credential is built from something real (user A's id, a real token, a
real key) with exactly one thing wrong, so a 401 can only come from that defect.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import httpx
import jwt

from clarion.bootstrap import Container
from clarion.domain.enums import Role
from clarion.domain.identity import RefreshToken, UserAccount
from clarion.domain.time import utcnow
from tests.support.apps import promote_to_admin

PASSWORD = "correct horse battery staple"
ERROR_KEYS = {"status", "code", "message", "details"}


class Caller(StrEnum):
    ANONYMOUS = "anonymous"
    USER_A = "user A"
    USER_B = "user B"
    ADMIN = "admin"
    ADMIN_KEY = "admin key"
    SERVICE_KEY = "service key"
    READ_ONLY_KEY = "read-only key"
    WRITE_ONLY_KEY = "write-only key"
    REVOKED_KEY = "revoked key"
    EXPIRED_TOKEN = "expired token"
    TAMPERED_SIGNATURE = "tampered signature"
    ALG_NONE = "alg none"
    WRONG_AUDIENCE = "wrong audience"
    REFRESH_AS_ACCESS = "refresh as access"


BAD_CREDENTIALS = frozenset(
    {
        Caller.ANONYMOUS,
        Caller.REVOKED_KEY,
        Caller.EXPIRED_TOKEN,
        Caller.TAMPERED_SIGNATURE,
        Caller.ALG_NONE,
        Caller.WRONG_AUDIENCE,
        Caller.REFRESH_AS_ACCESS,
    }
)
KEY_CALLERS = frozenset(
    {
        Caller.ADMIN_KEY,
        Caller.SERVICE_KEY,
        Caller.READ_ONLY_KEY,
        Caller.WRITE_ONLY_KEY,
        Caller.REVOKED_KEY,
    }
)
# What each kind of key may do; the service key holds every scope but `admin`.
KEY_SCOPES = {
    Caller.ADMIN_KEY: ["admin"],
    Caller.SERVICE_KEY: ["notifications:read", "notifications:write", "templates:write"],
    Caller.READ_ONLY_KEY: ["notifications:read"],
    Caller.WRITE_ONLY_KEY: ["notifications:write"],
}


@dataclass(frozen=True)
class Account:
    id: uuid.UUID
    email: str
    access_token: str
    refresh_token: str | None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


@dataclass(frozen=True)
class Key:
    id: uuid.UUID
    secret: str


@dataclass
class World:
    """Users A and B, an admin, the API keys and the forged tokens, in one database."""

    admin: Account
    user_a: Account
    user_b: Account
    keys: dict[Caller, Key]
    revoked_key: Key
    forged: dict[Caller, str]
    a_refresh_token: str

    def secret(self, caller: Caller) -> str:
        real = {
            Caller.ADMIN: self.admin.access_token,
            Caller.USER_A: self.user_a.access_token,
            Caller.USER_B: self.user_b.access_token,
            **{caller: key.secret for caller, key in self.keys.items()},
            Caller.REVOKED_KEY: self.revoked_key.secret,
            Caller.REFRESH_AS_ACCESS: self.a_refresh_token,
        }
        return real[caller] if caller in real else self.forged[caller]

    def headers(self, caller: Caller, via: str = "bearer") -> dict[str, str]:
        """Credentials of `caller`, as `Authorization: Bearer` or as `X-API-Key`."""
        if caller is Caller.ANONYMOUS:
            return {}
        if via == "x-api-key":
            return {"X-API-Key": self.secret(caller)}
        return {"Authorization": f"Bearer {self.secret(caller)}"}

    def identity(self, caller: Caller) -> uuid.UUID:
        """The id `GET /auth/me` must name for a caller with good credentials."""
        ids = {
            Caller.ADMIN: self.admin.id,
            Caller.USER_A: self.user_a.id,
            Caller.USER_B: self.user_b.id,
            **{caller: key.id for caller, key in self.keys.items()},
        }
        return ids[caller]


# --- accounts and keys -------------------------------------------------------------


async def register(client: httpx.AsyncClient, email: str, name: str = "Someone") -> uuid.UUID:
    response = await client.post(
        "/auth/register", json={"email": email, "password": PASSWORD, "name": name}
    )
    assert response.status_code == 201, response.text
    return uuid.UUID(response.json()["id"])


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> dict[str, Any]:
    response = await client.post("/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


_password_hash: list[str] = []


async def admin_creates_user(client: httpx.AsyncClient, admin: dict[str, str], email: str) -> str:
    """An account made through `POST /admin/users` (audited as user.create); its id."""
    body = {"email": email, "password": PASSWORD, "name": "Made"}
    response = await client.post("/admin/users", headers=admin, json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def password_hash(container: Container) -> str:
    """The service's own argon2 hash of PASSWORD, made once per test session: an
    account added with it signs in like a registered one, without paying for hashing."""
    if not _password_hash:
        _password_hash.append(await container.auth.passwords.hash(PASSWORD))
    return _password_hash[0]


async def add_user(container: Container, email: str, *, password_hash: str = "!") -> uuid.UUID:
    """An account written straight to the database; with the default hash it can
    never sign in (a target for destructive calls)."""
    now = utcnow()
    user = UserAccount(uuid.uuid4(), email, "Someone", Role.USER, password_hash, now, now)
    uow = container.unit_of_work()
    try:
        await uow.users.add(user)
        await uow.commit()
    finally:
        await uow.close()
    return user.id


def access_token(container: Container, user_id: uuid.UUID) -> str:
    """An access token from the service's own issuer, as a login would give."""
    return container.auth.tokens.issue(user_id, "access").token


async def token_pair(container: Container, user_id: uuid.UUID) -> tuple[str, str]:
    """An access token and a stored refresh token, the pair a login answers, minus
    the login's password check."""
    tokens, family = container.auth.tokens, uuid.uuid4()
    refresh = tokens.issue(user_id, "refresh", family=family)
    stored = RefreshToken(refresh.jti, user_id, family, refresh.expires_at)
    uow = container.unit_of_work()
    try:
        await uow.refresh_tokens.add(stored)
        await uow.commit()
    finally:
        await uow.close()
    return tokens.issue(user_id, "access").token, refresh.token


async def create_key(
    client: httpx.AsyncClient, headers: dict[str, str], scopes: list[str], name: str = "svc"
) -> Key:
    response = await client.post(
        "/admin/api-keys", json={"name": name, "scopes": scopes}, headers=headers
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return Key(uuid.UUID(body["id"]), body["key"])


# --- forged tokens -----------------------------------------------------------------


def claims_for(container: Container, subject: uuid.UUID, **overrides: Any) -> dict[str, Any]:
    """Claims exactly like an access token Clarion issues, unless overridden."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": container.settings.jwt_issuer,
        "aud": container.settings.jwt_audience,
        "sub": str(subject),
        "iat": now,
        "exp": now + 900,
        "jti": secrets.token_urlsafe(24),
        "typ": "access",
    }
    claims.update(overrides)
    return claims


def sign(container: Container, claims: dict[str, Any]) -> str:
    secret = container.settings.jwt_secret
    assert secret is not None
    return jwt.encode(claims, secret.get_secret_value(), algorithm=container.settings.jwt_algorithm)


def b64url(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unsigned(claims: dict[str, Any]) -> str:
    """An `alg: none` token, built by hand so no library can refuse to make it."""
    return f"{b64url({'alg': 'none', 'typ': 'JWT'})}.{b64url(claims)}."


def tampered(token: str) -> str:
    """The token with one signature character changed. The middle one: the last
    character of a base64url HMAC carries padding bits, so changing it may not
    change the decoded signature at all."""
    header, payload, signature = token.split(".")
    middle = len(signature) // 2
    flipped = "A" if signature[middle] != "A" else "B"
    forged = f"{header}.{payload}.{signature[:middle]}{flipped}{signature[middle + 1 :]}"
    assert forged != token
    return forged


def forge_bad_tokens(container: Container, victim: Account) -> dict[Caller, str]:
    hour_ago = int(time.time()) - 3600
    return {
        Caller.EXPIRED_TOKEN: sign(
            container, claims_for(container, victim.id, iat=hour_ago, exp=hour_ago + 900)
        ),
        Caller.WRONG_AUDIENCE: sign(
            container, claims_for(container, victim.id, aud="someone-elses-api")
        ),
        Caller.ALG_NONE: unsigned(claims_for(container, victim.id)),
        Caller.TAMPERED_SIGNATURE: tampered(victim.access_token),
    }


async def build_world(client: httpx.AsyncClient, container: Container) -> World:
    """Accounts written straight to the database, with the one password hash made per
    session, and tokens from the service's own issuer: no argon2 work per test (each
    hash or check costs about 0.2 s, and every access test builds a world). A holds a
    stored token pair as a login gives; B and the admin only need access tokens."""
    hashed = await password_hash(container)
    admin_id = await add_user(container, "admin@example.com", password_hash=hashed)
    await promote_to_admin(container, admin_id)
    admin = Account(admin_id, "admin@example.com", access_token(container, admin_id), None)
    a_id = await add_user(container, "a@example.com", password_hash=hashed)
    user_a = Account(a_id, "a@example.com", *await token_pair(container, a_id))
    b_id = await add_user(container, "b@example.com", password_hash=hashed)
    user_b = Account(b_id, "b@example.com", access_token(container, b_id), None)

    keys = {
        caller: await create_key(client, admin.headers, scopes, str(caller))
        for caller, scopes in KEY_SCOPES.items()
    }
    revoked = await create_key(client, admin.headers, ["admin"], "retired")
    # the revoked key worked before its revocation: its 401 below is the revocation's doing
    before = await client.get("/auth/me", headers={"Authorization": f"Bearer {revoked.secret}"})
    assert before.status_code == 200, before.text
    revoke = await client.delete(f"/admin/api-keys/{revoked.id}", headers=admin.headers)
    assert revoke.status_code == 200, revoke.text
    assert user_a.refresh_token is not None
    return World(
        admin=admin,
        user_a=user_a,
        user_b=user_b,
        keys=keys,
        revoked_key=revoked,
        forged=forge_bad_tokens(container, user_a),
        a_refresh_token=user_a.refresh_token,
    )


def error_shape_problem(response: httpx.Response, code: str) -> str | None:
    """None when the response carries Clarion's error body with this code."""
    try:
        body = response.json()
    except ValueError:
        return f"body is not JSON: {response.text[:80]!r}"
    if not isinstance(body, dict) or set(body) != ERROR_KEYS:
        return f"error body keys {sorted(body) if isinstance(body, dict) else body!r}"
    if body["status"] != response.status_code or body["code"] != code:
        return f"error body status/code {body['status']}/{body['code']!r}, wanted {code!r}"
    if not isinstance(body["message"], str) or not body["message"]:
        return "error body has no message"
    return None
