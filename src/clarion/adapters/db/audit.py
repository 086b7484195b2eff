"""The audit trail: written by every audited change, read by operators."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from clarion.adapters.db.models import AuditLog
from clarion.domain.audit import AuditPage, AuditQuery, AuditRecord, AuditStats
from clarion.domain.identity import AuditEntry


class SqlAuditTrail:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record(self, entry: AuditEntry) -> None:
        self._session.add(
            AuditLog(
                user_id=entry.actor_id,
                action=entry.action,
                entity_type=entry.entity_type,
                entity_id=entry.entity_id,
                changes=entry.changes,
                ip_address=entry.context.ip_address,
                user_agent=(entry.context.user_agent or "")[:512] or None,
            )
        )
        await self._session.flush()

    async def page(self, query: AuditQuery) -> AuditPage:
        conditions = []
        if query.actor_id is not None:
            conditions.append(AuditLog.user_id == query.actor_id)
        if query.actions:
            conditions.append(AuditLog.action.in_(query.actions))
        if query.entity_type is not None:
            conditions.append(AuditLog.entity_type == query.entity_type)
        if query.entity_id is not None:
            conditions.append(AuditLog.entity_id == query.entity_id)
        if query.since is not None:
            conditions.append(AuditLog.timestamp >= query.since)
        if query.until is not None:
            conditions.append(AuditLog.timestamp < query.until)
        if query.after is not None:
            at, last_id = query.after
            conditions.append(
                or_(AuditLog.timestamp < at, and_(AuditLog.timestamp == at, AuditLog.id < last_id))
            )
        rows = list(
            (
                await self._session.scalars(
                    select(AuditLog)
                    .where(*conditions)
                    .order_by(AuditLog.timestamp.desc(), AuditLog.id.desc())
                    .limit(query.limit + 1)
                )
            ).all()
        )
        items = [record_of(row) for row in rows[: query.limit]]
        more = len(rows) > query.limit
        return AuditPage(items=items, last=(items[-1].timestamp, items[-1].id) if more else None)

    async def stats(self, since: datetime, until: datetime, *, top: int) -> AuditStats:
        window = (AuditLog.timestamp >= since, AuditLog.timestamp < until)
        total = await self._session.scalar(select(func.count()).where(*window))
        count = func.count().label("n")
        by_action = await self._session.execute(
            select(AuditLog.action, count)
            .where(*window)
            .group_by(AuditLog.action)
            .order_by(count.desc(), AuditLog.action)
            .limit(top)
        )
        by_actor = await self._session.execute(
            select(AuditLog.user_id, count)
            .where(*window)
            .group_by(AuditLog.user_id)
            .order_by(count.desc(), AuditLog.user_id)
            .limit(top)
        )
        return AuditStats(
            total=int(total or 0),
            by_action=[(action, int(n)) for action, n in by_action],
            by_actor=[(actor, int(n)) for actor, n in by_actor],
        )


def record_of(row: AuditLog) -> AuditRecord:
    return AuditRecord(
        id=row.id,
        actor_id=row.user_id,
        action=row.action,
        entity_type=row.entity_type,
        entity_id=row.entity_id,
        changes=row.changes,
        ip_address=row.ip_address,
        user_agent=row.user_agent,
        timestamp=row.timestamp,
    )
