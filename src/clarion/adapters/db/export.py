"""Rows for exports, read in keyset chunks, oldest first. Each chunk is its own
short read, so an export of millions of rows holds no long transaction."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clarion.adapters.db.documents import EVENT_FIELDS, NOTIFICATION_FIELDS, columns, document
from clarion.adapters.db.models import Event, Notification
from clarion.domain.export import ExportFilters, Kind

Position = tuple[datetime, uuid.UUID]


class SqlExportReader:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def chunk(
        self, kind: Kind, filters: ExportFilters, after: Position | None, limit: int
    ) -> tuple[list[dict[str, Any]], Position | None]:
        """Up to `limit` documents after `after`, and where the next chunk starts
        (None when this was the last)."""
        table: Any = Notification if kind == "notifications" else Event
        fields = NOTIFICATION_FIELDS if kind == "notifications" else EVENT_FIELDS
        at = table.created_at if kind == "notifications" else table.timestamp
        conditions: list[ColumnElement[bool]] = []
        if filters.since is not None:
            conditions.append(at >= filters.since)
        if filters.until is not None:
            conditions.append(at < filters.until)
        if filters.user_id is not None:
            conditions.append(table.user_id == filters.user_id)
        if filters.statuses:
            conditions.append(table.status.in_(filters.statuses))
        if filters.channels:
            conditions.append(table.channel.in_(filters.channels))
        if filters.types:
            conditions.append(table.type.in_(filters.types))
        if after is not None:
            moment, last_id = after
            conditions.append(or_(at > moment, and_(at == moment, table.id > last_id)))
        statement = (
            select(*columns(fields), at).where(*conditions).order_by(at, table.id).limit(limit)
        )
        async with self._sessions() as session:
            rows = (await session.execute(statement)).all()
        documents = [document(fields, row[:-1]) for row in rows]
        if len(rows) < limit:
            return documents, None
        last = rows[-1]
        return documents, (last[-1], last[0])
