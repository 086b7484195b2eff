"""The admin dashboard's figures: each is one query over an index (created_at,
the FAILED and PENDING rows, events by time), so none reads the whole table."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from clarion.adapters.db.models import Event, Notification
from clarion.domain.dashboard import DashboardFigures, StatusCount
from clarion.domain.enums import Channel, EventType, NotificationStatus
from clarion.ports import NotificationRepository

S = NotificationStatus
TOP_ERRORS = 5


class SqlDashboard:
    def __init__(self, session: AsyncSession, notifications: NotificationRepository) -> None:
        self._session = session
        self._notifications = notifications

    async def figures(self, now: datetime) -> DashboardFigures:
        hour, day = now - timedelta(hours=1), now - timedelta(days=1)
        return DashboardFigures(
            counts=await self._counts(hour, day),
            sent_per_minute=await self._sent_per_minute(hour),
            top_errors=await self._top_errors(day),
            dead_letters=int(
                await self._session.scalar(
                    select(func.count()).where(Notification.status == S.FAILED)
                )
                or 0
            ),
            oldest_waiting=await self._oldest_waiting(),
            lanes=await self._notifications.backlog(),
        )

    async def _counts(self, hour: datetime, day: datetime) -> list[StatusCount]:
        recent = case((Notification.created_at >= hour, 1), else_=0)
        rows = await self._session.execute(
            select(
                Notification.status,
                Notification.channel,
                func.sum(recent),
                func.count(),
            )
            .where(Notification.created_at >= day)
            .group_by(Notification.status, Notification.channel)
        )
        found = [
            StatusCount(
                NotificationStatus(status).value, Channel(channel).value, int(in_hour or 0), int(n)
            )
            for status, channel, in_hour, n in rows
        ]
        return sorted(found, key=lambda c: (c.status, c.channel))

    async def _sent_per_minute(self, hour: datetime) -> list[tuple[str, int]]:
        minute = self._minute(Event.timestamp)
        rows = await self._session.execute(
            select(minute, func.count())
            .where(Event.timestamp >= hour, Event.type == EventType.SENT)
            .group_by(minute)
            .order_by(minute)
        )
        return [(str(at).replace(" ", "T"), int(n)) for at, n in rows]

    def _minute(self, column: InstrumentedAttribute[datetime]) -> ColumnElement[str]:
        """The minute of a UTC timestamp as "YYYY-MM-DD HH:MM"."""
        if self._session.get_bind().dialect.name == "postgresql":
            return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD HH24:MI")
        return func.substr(column, 1, 16)

    async def _top_errors(self, day: datetime) -> list[tuple[str, int]]:
        count = func.count().label("n")
        rows = await self._session.execute(
            select(Notification.error_message, count)
            .where(Notification.status == S.FAILED, Notification.created_at >= day)
            .group_by(Notification.error_message)
            .order_by(count.desc(), Notification.error_message)
            .limit(TOP_ERRORS)
        )
        return [(reason or "(no reason given)", int(n)) for reason, n in rows]

    async def _oldest_waiting(self) -> tuple[uuid.UUID, datetime] | None:
        row = (
            await self._session.execute(
                select(Notification.id, Notification.created_at)
                .where(Notification.status == S.PENDING)
                .order_by(Notification.created_at)
                .limit(1)
            )
        ).first()
        return (row[0], row[1]) if row is not None else None
