"""The outbox sweeper's statements, as jobs for `Writes` (see batch_sql).

On SQLite they run on the process's one writer, in a group with the hot path's
writes, so the sweeper never holds the writer for a transaction of its own and
an URGENT write never waits behind a tick. Each job looks for due rows first and
writes nothing when there are none, which is nearly every tick.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Connection, Row, and_, or_, select, update

from clarion.adapters.db.batch_sql import NOTIFICATIONS, N, S


def promote_scheduled(now: datetime, limit: int) -> Callable[[Connection], int]:
    """SCHEDULED → PENDING for up to `limit` rows whose time has come, oldest first;
    the sweeper then publishes them. Returns how many were promoted."""

    def job(connection: Connection) -> int:
        due = connection.scalars(
            select(N.id)
            .where(N.status == S.SCHEDULED, N.scheduled_for <= now)
            .order_by(N.scheduled_for)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        if not due:
            return 0
        promoted = connection.execute(
            update(NOTIFICATIONS)
            .where(N.id.in_(due), N.status == S.SCHEDULED)
            .values(
                status=S.PENDING,
                next_attempt_at=N.scheduled_for,
                published_at=None,
                updated_at=now,
            )
        )
        return int(promoted.rowcount)

    return job


def take_unpublished(
    now: datetime, grace: timedelta, limit: int
) -> Callable[[Connection], Sequence[Row[tuple[object, ...]]]]:
    """Due rows never handed to the queue, highest priority first, marked as
    published in the same transaction. On PostgreSQL, SKIP LOCKED keeps two
    schedulers from taking the same rows."""
    due = or_(
        and_(N.next_attempt_at.is_(None), N.created_at <= now - grace),
        # a scheduled notification, promoted: the sweeper is its only publisher
        and_(N.attempts == 0, N.next_attempt_at <= now),
        # a retry: the queue's relay should have it; give the worker that
        # scheduled it the grace period to confirm it did
        N.next_attempt_at <= now - grace,
    )

    def job(connection: Connection) -> Sequence[Row[tuple[object, ...]]]:
        picked = connection.scalars(
            select(N.id)
            .where(N.status == S.PENDING, N.published_at.is_(None), due)
            .order_by(N.priority_rank, N.next_attempt_at, N.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        if not picked:
            return []
        return connection.execute(
            update(NOTIFICATIONS)
            .where(N.id.in_(picked))
            .values(published_at=now)
            .returning(N.id, N.user_id, N.channel, N.priority, N.attempts, N.payload, N["metadata"])
        ).all()

    return job
