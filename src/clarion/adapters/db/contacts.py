"""Where a user can be reached besides their email: push devices, and the SMS
numbers that asked not to be texted."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from clarion.adapters.db import batch_sql
from clarion.adapters.db.models import Device, SmsSuppression
from clarion.adapters.db.writes import Writes
from clarion.domain.contacts import DeviceRecord
from clarion.domain.enums import Platform


def device_from_row(row: Device) -> DeviceRecord:
    return DeviceRecord(
        id=row.id,
        user_id=row.user_id,
        platform=Platform(row.platform),
        token=row.token,
        created_at=row.created_at,
    )


class SqlContacts:
    def __init__(self, session: AsyncSession, writes: Writes) -> None:
        self._session = session
        self._writes = writes

    async def add_device(self, device: DeviceRecord) -> DeviceRecord:
        """Register a token; a token already registered moves to this user."""
        existing = (
            await self._session.execute(select(Device).where(Device.token == device.token))
        ).scalar_one_or_none()
        if existing is not None:
            existing.user_id = device.user_id
            existing.platform = device.platform
            await self._session.flush()
            return device_from_row(existing)
        row = Device(
            id=device.id,
            user_id=device.user_id,
            platform=device.platform,
            token=device.token,
            created_at=device.created_at,
        )
        try:
            async with self._session.begin_nested():
                self._session.add(row)
        except IntegrityError:
            # registered at the same moment elsewhere: take it over, once
            taken = (
                await self._session.execute(select(Device).where(Device.token == device.token))
            ).scalar_one_or_none()
            if taken is None:
                raise  # not the token: the user itself went away
            taken.user_id, taken.platform = device.user_id, device.platform
            await self._session.flush()
            return device_from_row(taken)
        return device_from_row(row)

    async def devices(self, user_id: uuid.UUID) -> list[DeviceRecord]:
        rows = await self._session.execute(
            select(Device).where(Device.user_id == user_id).order_by(Device.created_at, Device.id)
        )
        return [device_from_row(row) for row in rows.scalars()]

    async def tokens_for(self, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, tuple[str, ...]]:
        ids = set(user_ids)
        if not ids:
            return {}
        rows = await self._session.execute(
            select(Device.user_id, Device.token)
            .where(Device.user_id.in_(ids))
            .order_by(Device.created_at)
        )
        found: dict[uuid.UUID, list[str]] = {}
        for user_id, token in rows:
            found.setdefault(user_id, []).append(token)
        return {user_id: tuple(tokens) for user_id, tokens in found.items()}

    async def remove_device(self, user_id: uuid.UUID, device_id: uuid.UUID) -> bool:
        result = await self._session.execute(
            delete(Device).where(Device.id == device_id, Device.user_id == user_id)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def forget_tokens(self, tokens: Sequence[str]) -> None:
        if tokens:
            await self._writes.later(batch_sql.forget_tokens(tokens))

    async def suppress(self, numbers: Sequence[str], reason: str, now: datetime) -> None:
        if numbers:
            await self._writes.later(batch_sql.suppress(numbers, reason, now))

    async def suppressed(self, numbers: Iterable[str]) -> set[str]:
        wanted = set(numbers)
        if not wanted:
            return set()
        rows = await self._session.execute(
            select(SmsSuppression.phone).where(SmsSuppression.phone.in_(wanted))
        )
        return {row[0] for row in rows}
