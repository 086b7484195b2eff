"""Idempotency keys in the database, so every API process sees the same ones."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clarion.adapters.db import batch_sql
from clarion.adapters.db.models import IdempotencyKey
from clarion.adapters.db.writes import Writes
from clarion.ports import StoredResponse

# A reservation this old belongs to a request that died; the key is free again.
# A request that is merely slow finds out at finish() and rolls back.
ABANDONED_AFTER = timedelta(minutes=5)


class SqlIdempotencyStore:
    """Reservations commit in their own short transaction: a key must be held
    before the request's own work starts, or two concurrent requests would both
    miss it. The finished response is written with the request's work."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], session: AsyncSession, writes: Writes
    ) -> None:
        self._sessions = sessions
        self._session = session
        self._writes = writes

    async def reserve(
        self, scope: str, key: str, request_hash: str, now: datetime, ttl: timedelta
    ) -> StoredResponse | None:
        async with self._sessions() as own:
            # an expired key, or a reservation whose request died before
            # finishing, no longer holds the key
            await own.execute(
                delete(IdempotencyKey).where(
                    IdempotencyKey.scope == scope,
                    IdempotencyKey.key == key,
                    or_(
                        IdempotencyKey.expires_at <= now,
                        and_(
                            IdempotencyKey.response_status.is_(None),
                            IdempotencyKey.created_at <= now - ABANDONED_AFTER,
                        ),
                    ),
                )
            )
            own.add(
                IdempotencyKey(
                    scope=scope,
                    key=key,
                    request_hash=request_hash,
                    created_at=now,
                    expires_at=now + ttl,
                )
            )
            try:
                await own.commit()
                return None
            except IntegrityError:
                await own.rollback()
            row = await own.scalar(
                select(IdempotencyKey).where(
                    IdempotencyKey.scope == scope, IdempotencyKey.key == key
                )
            )
        if row is None:  # expired and purged between our two statements: try once more
            return await self.reserve(scope, key, request_hash, now, ttl)
        return StoredResponse(row.request_hash, row.response_status, row.response_body)

    async def finish(
        self,
        scope: str,
        key: str,
        status: int,
        body: dict[str, Any] | list[Any],
        *,
        reserved_at: datetime,
    ) -> bool:
        job = batch_sql.finish_idempotent(scope, key, status, body, reserved_at=reserved_at)
        try:
            await self._writes.now(job)
        except batch_sql.KeyLost:
            return False
        return True

    async def release(self, scope: str, key: str, *, reserved_at: datetime) -> None:
        async with self._sessions() as own:
            await own.execute(
                delete(IdempotencyKey).where(
                    IdempotencyKey.scope == scope,
                    IdempotencyKey.key == key,
                    IdempotencyKey.created_at == reserved_at,
                    IdempotencyKey.response_status.is_(None),
                )
            )
            await own.commit()

    async def purge_expired(self, now: datetime) -> int:
        result = await self._session.execute(
            delete(IdempotencyKey).where(IdempotencyKey.expires_at <= now)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
