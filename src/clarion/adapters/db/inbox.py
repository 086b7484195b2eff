"""A user's in-app inbox: their delivered IN_APP notifications, unread first."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from clarion.adapters.db.models import Notification
from clarion.adapters.db.rows import record_from_row
from clarion.domain.enums import Channel, NotificationStatus
from clarion.domain.notifications import NotificationRecord


def in_inbox(user_id: uuid.UUID) -> list[Any]:
    return [
        Notification.user_id == user_id,
        Notification.channel == Channel.IN_APP,
        Notification.status == NotificationStatus.SENT,
    ]


class SqlInbox:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def page(
        self, user_id: uuid.UUID, *, offset: int, limit: int, unread_only: bool = False
    ) -> list[NotificationRecord]:
        query = select(Notification).where(*in_inbox(user_id))
        if unread_only:
            query = query.where(Notification.read_at.is_(None))
        rows = await self._session.execute(
            query.order_by(
                Notification.read_at.is_not(None),  # unread (False) first
                Notification.created_at.desc(),
                Notification.id.desc(),
            )
            .offset(offset)
            .limit(limit)
        )
        return [record_from_row(row) for row in rows.scalars()]

    async def unread(self, user_id: uuid.UUID) -> int:
        count = await self._session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(*in_inbox(user_id), Notification.read_at.is_(None))
        )
        return int(count or 0)

    async def mark_read(
        self, user_id: uuid.UUID, notification_id: uuid.UUID | None, now: datetime
    ) -> list[uuid.UUID]:
        """Mark one (or, with no id, every) unread entry read; returns those marked."""
        statement = (
            update(Notification)
            .where(*in_inbox(user_id), Notification.read_at.is_(None))
            .values(read_at=now)
            .returning(Notification.id)
            .execution_options(synchronize_session=False)
        )
        if notification_id is not None:
            statement = statement.where(Notification.id == notification_id)
        return list((await self._session.execute(statement)).scalars())

    async def holds(self, user_id: uuid.UUID, notification_id: uuid.UUID) -> bool:
        found = await self._session.scalar(
            select(Notification.id).where(*in_inbox(user_id), Notification.id == notification_id)
        )
        return found is not None
