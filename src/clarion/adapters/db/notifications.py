"""SQL repository for notifications and their events: the queue's source of truth."""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    case,
    cast,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from clarion.adapters.db import batch_sql, outbox_sql
from clarion.adapters.db.batch_sql import EVENTS
from clarion.adapters.db.models import Event, Notification, User
from clarion.adapters.db.rows import event_from_row, event_row, record_from_row
from clarion.adapters.db.writes import Writes
from clarion.domain.content import queue_key
from clarion.domain.delivery import QueueMessage, correlation_of
from clarion.domain.enums import EventType, NotificationStatus, Priority
from clarion.domain.notifications import (
    CANCELLABLE,
    EDITABLE,
    LANES,
    PRIORITY_RANK,
    EventRecord,
    NewNotification,
    NotificationRecord,
)
from clarion.domain.pipeline import Claimed, DeliveryOutcome, NotificationQuery, Page

S = NotificationStatus


class SqlNotifications:
    def __init__(self, session: AsyncSession, writes: Writes) -> None:
        self._session = session
        self._writes = writes

    async def add_many(
        self, items: Sequence[NewNotification], now: datetime, *, published: bool = False
    ) -> None:
        if items:
            await self._writes.later(
                batch_sql.insert_notifications(items, now, published=published), len(items)
            )

    async def get(self, notification_id: uuid.UUID) -> NotificationRecord | None:
        row = await self._session.get(Notification, notification_id, populate_existing=True)
        return record_from_row(row) if row else None

    async def page(self, query: NotificationQuery) -> Page:
        statement = select(Notification)
        conditions = []
        if query.user_id is not None:
            conditions.append(Notification.user_id == query.user_id)
        for column, values in (
            (Notification.status, query.statuses),
            (Notification.channel, query.channels),
            (Notification.type, query.types),
            (Notification.priority, query.priorities),
        ):
            if values:
                conditions.append(column.in_(values))
        if query.created_from is not None:
            conditions.append(Notification.created_at >= query.created_from)
        if query.created_to is not None:
            conditions.append(Notification.created_at < query.created_to)
        if query.after is not None:
            created, last_id = query.after
            conditions.append(
                or_(
                    Notification.created_at < created,
                    and_(Notification.created_at == created, Notification.id < last_id),
                )
            )
        if query.text:
            conditions.append(mentions(query.text))
        statement = (
            statement.where(*conditions)
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .limit(query.limit + 1)
        )
        rows = list((await self._session.scalars(statement)).all())
        items = [record_from_row(row) for row in rows[: query.limit]]
        has_more = len(rows) > query.limit
        return Page(items=items, last=(items[-1].created_at, items[-1].id) if has_more else None)

    async def events(self, notification_id: uuid.UUID) -> list[EventRecord]:
        rows = await self._session.scalars(
            select(Event)
            .where(Event.notification_id == notification_id)
            .order_by(Event.timestamp, Event.id)
        )
        return [event_from_row(row) for row in rows]

    async def events_for(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[EventRecord]]:
        found: dict[uuid.UUID, list[EventRecord]] = {i: [] for i in ids}
        if ids:
            rows = await self._session.scalars(
                select(Event).where(Event.notification_id.in_(ids)).order_by(Event.timestamp)
            )
            for row in rows:
                found[row.notification_id].append(event_from_row(row))
        return found

    async def edit(self, notification_id: uuid.UUID, values: dict[str, Any], now: datetime) -> bool:
        """Change a notification not yet handed to a worker; False if it already was."""
        if "priority" in values:
            values["priority_rank"] = PRIORITY_RANK[values["priority"]]
        result = await self._session.execute(
            update(Notification)
            .where(Notification.id == notification_id, Notification.status.in_(EDITABLE))
            .values(**values, updated_at=now)
            .returning(Notification.user_id, Notification.channel, Notification.status)
        )
        changed = result.first()
        if changed is None:
            return False
        if "status" in values:
            event = EventType.SCHEDULED if values["status"] is S.SCHEDULED else None
            if event is not None:
                await self._session.execute(
                    insert(EVENTS),
                    [event_row(notification_id, changed[0], changed[1], event, changed[2], now)],
                )
        return True

    async def cancel(self, notification_id: uuid.UUID, now: datetime) -> bool:
        result = await self._session.execute(
            update(Notification)
            .where(Notification.id == notification_id, Notification.status.in_(CANCELLABLE))
            .values(status=S.CANCELLED, updated_at=now, next_attempt_at=None)
            .returning(Notification.user_id, Notification.channel)
        )
        cancelled = result.first()
        if cancelled is None:
            return False
        await self._session.execute(
            insert(EVENTS),
            [
                event_row(
                    notification_id,
                    cancelled[0],
                    cancelled[1],
                    EventType.CANCELLED,
                    S.CANCELLED,
                    now,
                )
            ],
        )
        return True

    async def take_unpublished(
        self, now: datetime, *, grace: timedelta, limit: int
    ) -> list[QueueMessage]:
        """Due rows never handed to the queue, highest priority first, marked as
        published in this transaction (see outbox_sql.take_unpublished)."""
        result = await self._writes.now(outbox_sql.take_unpublished(now, grace, limit))
        return [
            QueueMessage(
                notification_id=row.id,
                user_id=row.user_id,
                channel=row.channel,
                priority=row.priority,
                attempt=row.attempts + 1,
                key=queue_key(row.channel, row.payload, row.user_id),
                correlation_id=correlation_of(row._mapping["metadata"]),
            )
            for row in result
        ]

    async def mark_published(self, ids: Sequence[uuid.UUID], at: datetime) -> None:
        if ids:
            await self._writes.later(batch_sql.mark_published(ids, at))

    async def confirm_retries(self, messages: Sequence[QueueMessage], at: datetime) -> None:
        if messages:
            await self._writes.later(batch_sql.confirm_retries(messages, at))

    async def promote_scheduled(self, now: datetime, *, limit: int) -> int:
        return await self._writes.now(outbox_sql.promote_scheduled(now, limit))

    async def recover(
        self,
        now: datetime,
        *,
        claim_lease: timedelta,
        redelivery: timedelta,
        lanes: Collection[Priority] = LANES,
    ) -> tuple[int, int]:
        """Work lost in transit: claims whose worker died go back to PENDING, and
        rows published long ago but never claimed are published again."""
        reclaimed = await self._session.execute(
            update(Notification)
            .where(
                Notification.status == S.PROCESSING, Notification.claimed_at <= now - claim_lease
            )
            .values(status=S.PENDING, published_at=None, claimed_at=None, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        lost = [Notification.status == S.PENDING, Notification.published_at <= now - redelivery]
        if redelivery:
            # a retry waiting for its time is not lost: the relay holds it until then.
            # (A zero window means nothing survived, the relay's holdings included.)
            lost.append(
                or_(
                    Notification.next_attempt_at.is_(None),
                    Notification.next_attempt_at <= now - redelivery,
                )
            )
        if not lanes:
            return int(reclaimed.rowcount), 0  # type: ignore[attr-defined]
        if set(lanes) != set(LANES):
            lost.append(Notification.priority.in_(list(lanes)))
        republished = await self._session.execute(
            update(Notification)
            .where(*lost)
            .values(published_at=None)
            .execution_options(synchronize_session=False)
        )
        return int(reclaimed.rowcount), int(republished.rowcount)  # type: ignore[attr-defined]

    async def claim(self, ids: Sequence[uuid.UUID], now: datetime) -> list[Claimed]:
        """PENDING → PROCESSING for the rows no one else claimed (see batch_sql.claim)."""
        if not ids:
            return []
        return await self._writes.now(batch_sql.claim(ids, now), len(ids))

    async def record_outcomes(
        self, outcomes: Sequence[DeliveryOutcome], now: datetime, *, claimed_at: datetime
    ) -> list[uuid.UUID]:
        """Every outcome of a batch, for the rows this claim still owns; returns
        the ids whose outcome was stored (see batch_sql.record_outcomes)."""
        if not outcomes:
            return []
        return await self._writes.now(
            batch_sql.record_outcomes(outcomes, now, claimed_at=claimed_at), len(outcomes)
        )

    async def backlog(self) -> dict[str, dict[str, int]]:
        state = case(
            (Notification.status == S.PROCESSING, "processing"),
            (Notification.published_at.is_(None), "waiting"),
            else_="queued",
        )
        rows = await self._session.execute(
            select(Notification.priority, state, func.count())
            .where(Notification.status.in_([S.PENDING, S.PROCESSING]))
            .group_by(Notification.priority, state)
        )
        counts = {
            lane.value: {"queued": 0, "waiting": 0, "processing": 0} for lane in PRIORITY_RANK
        }
        for priority, kind, count in rows:
            counts[Priority(priority).value][kind] = int(count)
        return counts

    async def dead_letters(self, *, limit: int, offset: int) -> list[NotificationRecord]:
        rows = await self._session.scalars(
            select(Notification)
            .where(Notification.status == S.FAILED)
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return [record_from_row(row) for row in rows]

    async def redrive(self, notification_id: uuid.UUID, now: datetime, actor: str) -> bool:
        result = await self._session.execute(
            update(Notification)
            .where(Notification.id == notification_id, Notification.status == S.FAILED)
            .values(
                status=S.PENDING,
                attempts=0,
                next_attempt_at=None,
                published_at=None,
                failed_at=None,
                updated_at=now,
            )
            .returning(Notification.user_id, Notification.channel)
        )
        row = result.first()
        if row is None:
            return False
        await self._session.execute(
            insert(EVENTS),
            [
                event_row(
                    notification_id,
                    row[0],
                    row[1],
                    EventType.RETRIED,
                    S.PENDING,
                    now,
                    {"redrivenBy": actor},
                )
            ],
        )
        return True


def mentions(text: str) -> ColumnElement[bool]:
    """Rows whose payload, or whose recipient's email or phone, contains `text`,
    ignoring case (of ASCII letters). A payload is searched as JSON text, which
    spells other characters as themselves (JSONB) or as `\\u` escapes (SQLite's
    JSON): both spellings are tried. A scan in time order: an admin's search,
    not a hot path."""
    anywhere = like_pattern(text)
    recipients = select(User.id).where(
        or_(User.email.ilike(anywhere, escape="\\"), User.phone.ilike(anywhere, escape="\\"))
    )
    return or_(payload_mentions(text), Notification.user_id.in_(recipients))


def payload_mentions(text: str) -> ColumnElement[bool]:
    """Rows whose payload contains `text` (ignoring ASCII case), in either
    spelling JSON may give it."""
    spellings = {json.dumps(text, ensure_ascii=flag)[1:-1] for flag in (False, True)}
    payload = cast(Notification.payload, String)
    return or_(
        *(payload.ilike(like_pattern(spelled), escape="\\") for spelled in sorted(spellings))
    )


def like_pattern(text: str) -> str:
    """`text` anywhere; `%`, `_` and backslashes in it match themselves."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
