"""SQL repositories for accounts, refresh tokens, API keys and the audit trail."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from clarion.adapters.db.models import ApiKeyRow, RefreshTokenRow, User
from clarion.domain.enums import Role
from clarion.domain.identity import ApiKey, RefreshToken, Scope, UserAccount


def user_from_row(row: User) -> UserAccount:
    return UserAccount(
        id=row.id,
        email=row.email,
        name=row.name,
        role=Role(row.role),
        password_hash=row.password,
        created_at=row.created_at,
        updated_at=row.updated_at,
        phone=row.phone,
        sessions_valid_after=row.sessions_valid_after,
        locale=row.locale,
    )


class SqlUsers:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, user: UserAccount) -> None:
        self._session.add(
            User(
                id=user.id,
                email=user.email,
                password=user.password_hash,
                name=user.name,
                role=user.role,
                phone=user.phone,
                locale=user.locale,
                created_at=user.created_at,
                updated_at=user.updated_at,
            )
        )
        await self._session.flush()

    async def get(self, user_id: uuid.UUID) -> UserAccount | None:
        row = await self._session.get(User, user_id)
        return user_from_row(row) if row else None

    async def get_by_email(self, email: str) -> UserAccount | None:
        row = await self._session.scalar(select(User).where(User.email == email))
        return user_from_row(row) if row else None

    async def page(
        self, *, search: str | None, offset: int, limit: int
    ) -> tuple[Sequence[UserAccount], int]:
        query = select(User)
        if search:
            pattern = f"%{search.lower()}%"
            query = query.where(
                or_(func.lower(User.email).like(pattern), func.lower(User.name).like(pattern))
            )
        total = await self._session.scalar(select(func.count()).select_from(query.subquery()))
        rows = await self._session.scalars(
            query.order_by(User.created_at, User.id).offset(offset).limit(limit)
        )
        return [user_from_row(row) for row in rows], int(total or 0)

    async def save(self, user: UserAccount) -> None:
        await self._session.execute(
            update(User)
            .where(User.id == user.id)
            .values(
                email=user.email,
                name=user.name,
                role=user.role,
                password=user.password_hash,
                phone=user.phone,
                locale=user.locale,
                sessions_valid_after=user.sessions_valid_after,
                updated_at=user.updated_at,
            )
        )

    async def delete(self, user_id: uuid.UUID) -> None:
        await self._session.execute(delete(User).where(User.id == user_id))

    async def demote_admin(self, user_id: uuid.UUID, role: Role, now: datetime) -> bool:
        await self._lock_admins()
        result = await self._session.execute(
            update(User)
            .where(User.id == user_id, self._another_admin(user_id))
            .values(role=role, updated_at=now)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def delete_admin(self, user_id: uuid.UUID) -> bool:
        await self._lock_admins()
        result = await self._session.execute(
            delete(User).where(User.id == user_id, self._another_admin(user_id))
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def _lock_admins(self) -> None:
        # PostgreSQL: two admins retiring each other at once queue here, in id
        # order, and the second sees the first's change. SQLite has one writer,
        # and the condition below is read under its write lock.
        await self._session.execute(
            select(User.id).where(User.role == Role.ADMIN).order_by(User.id).with_for_update()
        )

    @staticmethod
    def _another_admin(user_id: uuid.UUID) -> ColumnElement[bool]:
        other = aliased(User)
        return select(other.id).where(other.role == Role.ADMIN, other.id != user_id).exists()

    async def existing(self, user_ids: set[uuid.UUID]) -> set[uuid.UUID]:
        if not user_ids:
            return set()
        rows = await self._session.scalars(select(User.id).where(User.id.in_(user_ids)))
        return set(rows)

    async def count_admins(self) -> int:
        found = await self._session.scalar(
            select(func.count()).select_from(User).where(User.role == Role.ADMIN)
        )
        return int(found or 0)


def token_from_row(row: RefreshTokenRow) -> RefreshToken:
    return RefreshToken(
        jti=row.jti,
        user_id=row.user_id,
        family_id=row.family_id,
        expires_at=row.expires_at,
        used_at=row.used_at,
        revoked_at=row.revoked_at,
    )


class SqlRefreshTokens:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, token: RefreshToken) -> None:
        self._session.add(
            RefreshTokenRow(
                jti=token.jti,
                user_id=token.user_id,
                family_id=token.family_id,
                expires_at=token.expires_at,
            )
        )
        await self._session.flush()

    async def get(self, jti: str) -> RefreshToken | None:
        row = await self._session.get(RefreshTokenRow, jti)
        return token_from_row(row) if row else None

    async def spend(self, jti: str, at: datetime) -> bool:
        result = await self._session.execute(
            update(RefreshTokenRow)
            .where(
                RefreshTokenRow.jti == jti,
                RefreshTokenRow.used_at.is_(None),
                RefreshTokenRow.revoked_at.is_(None),
            )
            .values(used_at=at)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def revoke_family(self, family_id: uuid.UUID, at: datetime) -> None:
        await self._session.execute(
            update(RefreshTokenRow)
            .where(RefreshTokenRow.family_id == family_id, RefreshTokenRow.revoked_at.is_(None))
            .values(revoked_at=at)
        )

    async def revoke_user(self, user_id: uuid.UUID, at: datetime) -> None:
        await self._session.execute(
            update(RefreshTokenRow)
            .where(RefreshTokenRow.user_id == user_id, RefreshTokenRow.revoked_at.is_(None))
            .values(revoked_at=at)
        )


def key_from_row(row: ApiKeyRow) -> ApiKey:
    return ApiKey(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        secret_hash=row.secret_hash,
        scopes=frozenset(Scope(scope) for scope in row.scopes),
        created_by=row.created_by,
        created_at=row.created_at,
        rate_limit=row.rate_limit,
        revoked_at=row.revoked_at,
    )


class SqlApiKeys:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, key: ApiKey) -> None:
        self._session.add(
            ApiKeyRow(
                id=key.id,
                name=key.name,
                prefix=key.prefix,
                secret_hash=key.secret_hash,
                scopes=sorted(scope.value for scope in key.scopes),
                rate_limit=key.rate_limit,
                created_by=key.created_by,
                created_at=key.created_at,
            )
        )
        await self._session.flush()

    async def get(self, key_id: uuid.UUID) -> ApiKey | None:
        row = await self._session.get(ApiKeyRow, key_id)
        return key_from_row(row) if row else None

    async def get_by_prefix(self, prefix: str) -> ApiKey | None:
        row = await self._session.scalar(select(ApiKeyRow).where(ApiKeyRow.prefix == prefix))
        return key_from_row(row) if row else None

    async def list(self) -> Sequence[ApiKey]:
        rows = await self._session.scalars(select(ApiKeyRow).order_by(ApiKeyRow.created_at))
        return [key_from_row(row) for row in rows]

    async def save(self, key: ApiKey) -> None:
        await self._session.execute(
            update(ApiKeyRow)
            .where(ApiKeyRow.id == key.id)
            .values(name=key.name, revoked_at=key.revoked_at, rate_limit=key.rate_limit)
        )
