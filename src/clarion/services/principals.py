"""Who a credential stands for, kept in the cache so that a request in steady
state reads no database (seed: `user:{id}`, 300 s).

What is cached is what a principal may do: a user's role and since when their
sessions count, an API key's hash, scopes, limit and revocation. Each change to
those (role change, deletion, password change, key revocation) drops the entry
once it is committed; the cache's tombstone keeps a reader that loaded the old
row from putting it back. With Redis every process sees the drop at once; the
in-process cache serves one process. A missing user is not cached, so a new
account works at once.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from clarion.domain.enums import Role
from clarion.domain.identity import ApiKey, Scope, UserAccount
from clarion.ports import Cache, UnitOfWork

PRINCIPAL_TTL = 300.0


class Entry(Protocol):
    def encode(self) -> bytes: ...


E = TypeVar("E", bound=Entry)
UowFactory = Callable[[], UnitOfWork]


def user_principal_key(user_id: uuid.UUID) -> str:
    return f"principal:user:v2:{user_id}"


def api_key_principal_key(prefix: str) -> str:
    return f"principal:api-key:v1:{prefix}"


class PrincipalCache:
    def __init__(self, cache: Cache) -> None:
        self._cache = cache

    async def standing(self, uow_factory: UowFactory, user_id: uuid.UUID) -> Standing | None:
        """The user's role and since when their sessions count, or None when
        there is no such user."""

        async def load(uow: UnitOfWork) -> Standing | None:
            user = await uow.users.get(user_id)
            return Standing.of(user) if user else None

        key = user_principal_key(user_id)
        return await self._through(key, Standing.decode, uow_factory, load)

    async def api_key(self, uow_factory: UowFactory, prefix: str) -> CachedKey | None:
        async def load(uow: UnitOfWork) -> CachedKey | None:
            stored = await uow.api_keys.get_by_prefix(prefix)
            return CachedKey.of(stored) if stored else None

        key = api_key_principal_key(prefix)
        return await self._through(key, CachedKey.decode, uow_factory, load)

    async def _through(
        self,
        key: str,
        decode: Callable[[bytes], E],
        uow_factory: UowFactory,
        load: Callable[[UnitOfWork], Awaitable[E | None]],
    ) -> E | None:
        """The cached entry; on a miss, loaded on a short session of its own
        (released before the request's work) and kept. Absence is not kept."""
        cached = await self._cache.get(key)
        if cached is not None:
            return decode(cached)
        uow = uow_factory()
        try:
            found = await load(uow)
        finally:
            await uow.close()
        if found is not None:
            await self._cache.fill(key, found.encode(), PRINCIPAL_TTL)
        return found

    def forget_user(self, uow: UnitOfWork, user_id: uuid.UUID) -> None:
        """Drop the user's entry once `uow` commits."""
        self._forget_after_commit(uow, user_principal_key(user_id))

    def forget_api_key(self, uow: UnitOfWork, prefix: str) -> None:
        self._forget_after_commit(uow, api_key_principal_key(prefix))

    def _forget_after_commit(self, uow: UnitOfWork, key: str) -> None:
        async def forget() -> None:
            await self._cache.delete(key)

        uow.after_commit(forget)


@dataclass(frozen=True)
class Standing:
    """What a user's access token needs checked: the role, and the second before
    which tokens no longer count (set by a new password), if any."""

    role: Role
    sessions_valid_after: int | None

    @classmethod
    def of(cls, user: UserAccount) -> Standing:
        after = user.sessions_valid_after
        return cls(user.role, int(after.timestamp()) if after else None)

    def admits(self, issued_at: int) -> bool:
        return self.sessions_valid_after is None or issued_at >= self.sessions_valid_after

    def encode(self) -> bytes:
        return json.dumps([self.role.value, self.sessions_valid_after]).encode()

    @classmethod
    def decode(cls, raw: bytes) -> Standing:
        role, valid_after = json.loads(raw)
        return cls(Role(role), valid_after)


@dataclass(frozen=True)
class CachedKey:
    """What authenticating an API key needs, and nothing it does not."""

    id: uuid.UUID
    secret_hash: str
    scopes: frozenset[Scope]
    rate_limit: str | None
    active: bool

    @classmethod
    def of(cls, key: ApiKey) -> CachedKey:
        return cls(key.id, key.secret_hash, key.scopes, key.rate_limit, key.active)

    def encode(self) -> bytes:
        fields = [str(self.id), self.secret_hash, sorted(self.scopes), self.rate_limit, self.active]
        return json.dumps(fields).encode()

    @classmethod
    def decode(cls, raw: bytes) -> CachedKey:
        key_id, secret_hash, scopes, rate_limit, active = json.loads(raw)
        return cls(
            uuid.UUID(key_id), secret_hash, frozenset(map(Scope, scopes)), rate_limit, active
        )
