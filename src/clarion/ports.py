"""The ports the services need. Adapters implement them; each has an embedded
adapter and a scaled-out one that pass the same contract tests."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from clarion.domain.identity import ApiKey, AuditEntry, RefreshToken, UserAccount
from clarion.domain.ratelimit import RateDecision


class Component(Protocol):
    """Something readiness asks about: the database, the queue, the cache.

    `kind` names the adapter (`sqlite`, `postgresql`, `embedded`, `memory`,
    `redis`); `ping` returns when the component answers and raises otherwise.
    """

    name: str
    kind: str

    async def ping(self) -> None: ...


class Cache(Component, Protocol):
    """A byte-string cache with time-to-live and tags.

    Tags group keys so that one change can drop every cached view it affects
    (for example every cached page of one user's notifications).
    """

    async def get(self, key: str) -> bytes | None: ...

    async def set(
        self, key: str, value: bytes, ttl_seconds: float, tags: tuple[str, ...] = ()
    ) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def invalidate_tag(self, tag: str) -> None: ...

    async def close(self) -> None: ...


class UserRepository(Protocol):
    """Accounts. `search` matches email or name, case-insensitively."""

    async def add(self, user: UserAccount) -> None: ...

    async def get(self, user_id: uuid.UUID) -> UserAccount | None: ...

    async def get_by_email(self, email: str) -> UserAccount | None: ...

    async def page(
        self, *, search: str | None, offset: int, limit: int
    ) -> tuple[Sequence[UserAccount], int]: ...

    async def save(self, user: UserAccount) -> None: ...

    async def delete(self, user_id: uuid.UUID) -> None: ...

    async def count_admins(self) -> int: ...


class RefreshTokenRepository(Protocol):
    """Refresh tokens by `jti`. `spend` is a conditional update: it succeeds for
    exactly one caller, so two concurrent refreshes cannot both rotate a token."""

    async def add(self, token: RefreshToken) -> None: ...

    async def get(self, jti: str) -> RefreshToken | None: ...

    async def spend(self, jti: str, at: datetime) -> bool: ...

    async def revoke_family(self, family_id: uuid.UUID, at: datetime) -> None: ...

    async def revoke_user(self, user_id: uuid.UUID, at: datetime) -> None: ...


class ApiKeyRepository(Protocol):
    async def add(self, key: ApiKey) -> None: ...

    async def get(self, key_id: uuid.UUID) -> ApiKey | None: ...

    async def get_by_prefix(self, prefix: str) -> ApiKey | None: ...

    async def list(self) -> Sequence[ApiKey]: ...

    async def save(self, key: ApiKey) -> None: ...


class AuditTrail(Protocol):
    async def record(self, entry: AuditEntry) -> None: ...


class UnitOfWork(Protocol):
    """The repositories of one transaction. Services never commit: the edge
    (a request or a worker batch) commits when the use case returns."""

    users: UserRepository
    refresh_tokens: RefreshTokenRepository
    api_keys: ApiKeyRepository
    audit: AuditTrail

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...

    async def close(self) -> None: ...


class RateLimiter(Component, Protocol):
    """Counts hits per key against tiers such as `3/second;20/10 seconds;100/minute`.

    A hit is admitted only if every tier admits it. The embedded adapter counts
    in memory; the scaled-out one in Redis, so every API process shares a budget.
    """

    async def hit(self, key: str, tiers: str) -> RateDecision: ...

    async def close(self) -> None: ...
