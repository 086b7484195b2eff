"""The hot path's statements, one per kind of write for a whole batch.

Each function returns a job: a plain function over a synchronous connection,
run by `Writes` (SQLite's group-committing writer, or a PostgreSQL session's
transaction). Core statements only, no ORM bookkeeping: multi-row inserts,
executemany updates guarded by the status a row must still have, RETURNING
where the caller needs to know which rows it got.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from clarion.adapters.db.bulk import execute_rows, insert_rows
from clarion.adapters.db.models import (
    Device,
    Event,
    IdempotencyKey,
    Notification,
    SmsSuppression,
    User,
)
from clarion.adapters.db.rows import event_row
from clarion.domain.delivery import QueueMessage
from clarion.domain.enums import NotificationStatus
from clarion.domain.notifications import (
    PRIORITY_RANK,
    NewNotification,
    NotificationRecord,
    sources_of,
)
from clarion.domain.pipeline import Claimed, DeliveryOutcome

S = NotificationStatus
NOTIFICATIONS = cast(Table, Notification.__table__)
EVENTS = cast(Table, Event.__table__)
USERS = cast(Table, User.__table__)
DEVICES = cast(Table, Device.__table__)
IDEMPOTENCY = cast(Table, IdempotencyKey.__table__)
SUPPRESSIONS = cast(Table, SmsSuppression.__table__)
N = NOTIFICATIONS.c


def insert_notifications(
    items: Sequence[NewNotification], now: datetime, *, published: bool
) -> Callable[[Connection], None]:
    """New notifications and their first events, two statements for any number."""
    rows = []
    events = []
    for item in items:
        status = item.initial_status(now)
        rows.append(
            {
                "id": item.id,
                "user_id": item.user_id,
                "channel": item.channel,
                "type": item.type,
                "priority": item.priority,
                "priority_rank": PRIORITY_RANK[item.priority],
                "status": status,
                "payload": item.payload,
                "metadata": item.metadata,
                "scheduled_for": item.scheduled_for,
                "created_at": now,
                "updated_at": now,
                "attempts": 0,
                "published_at": now if published and status is S.PENDING else None,
            }
        )
        for order, event_type in enumerate(item.initial_events(now)):
            # a microsecond apart, so reading by time keeps CREATED before SCHEDULED
            at = now + timedelta(microseconds=order)
            events.append(event_row(item.id, item.user_id, item.channel, event_type, status, at))

    def job(connection: Connection) -> None:
        insert_rows(connection, NOTIFICATIONS, rows)
        insert_rows(connection, EVENTS, events)

    return job


def record_from_mapping(row: Mapping[Any, Any]) -> NotificationRecord:
    return NotificationRecord(
        id=row["id"],
        user_id=row["user_id"],
        channel=row["channel"],
        type=row["type"],
        priority=row["priority"],
        status=row["status"],
        payload=row["payload"],
        metadata=row["metadata"],
        scheduled_for=row["scheduled_for"],
        sent_at=row["sent_at"],
        failed_at=row["failed_at"],
        error_message=row["error_message"],
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        provider=row["provider"],
        provider_message_id=row["provider_message_id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        receipt=row["receipt"],
        read_at=row["read_at"],
    )


def claim(ids: Sequence[uuid.UUID], now: datetime) -> Callable[[Connection], list[Claimed]]:
    """PENDING → PROCESSING for the rows no one else claimed, returning each
    claimed row with its user's email, phone and locale; a redelivered message whose
    row is already claimed, sent or cancelled gets nothing."""

    def job(connection: Connection) -> list[Claimed]:
        if not ids:
            return []
        claimed = connection.execute(
            update(NOTIFICATIONS)
            .where(
                N.id.in_(ids),
                N.status.in_(sources_of(S.PROCESSING)),
                or_(N.next_attempt_at.is_(None), N.next_attempt_at <= now),
            )
            .values(status=S.PROCESSING, claimed_at=now, attempts=N.attempts + 1, updated_at=now)
            .returning(*NOTIFICATIONS.c)
        ).all()
        if not claimed:
            return []
        users = {row.user_id for row in claimed}
        contacts = {
            row.id: (row.email, row.phone, row.locale)
            for row in connection.execute(
                select(USERS.c.id, USERS.c.email, USERS.c.phone, USERS.c.locale).where(
                    USERS.c.id.in_(users)
                )
            )
        }
        return [
            Claimed(
                record=record_from_mapping(row._mapping),
                user_email=contacts[row.user_id][0],
                phone=contacts[row.user_id][1],
                locale=contacts[row.user_id][2],
            )
            for row in claimed
        ]

    return job


def record_outcomes(
    outcomes: Sequence[DeliveryOutcome], now: datetime, *, claimed_at: datetime
) -> Callable[[Connection], list[uuid.UUID]]:
    """Every outcome of a batch, one statement per kind, for the rows this claim
    still owns: a claim the sweeper took back (its lease ran out) and another
    worker re-claimed is not overwritten. The job returns the ids stored."""

    def job(connection: Connection) -> list[uuid.UUID]:
        if not outcomes:
            return []
        owned = {
            row[0]
            for row in connection.execute(
                update(NOTIFICATIONS)
                .where(
                    N.id.in_([o.notification_id for o in outcomes]),
                    N.status == S.PROCESSING,
                    N.claimed_at == claimed_at,
                )
                .values(updated_at=now)
                .returning(N.id)
            )
        }
        mine = [o for o in outcomes if o.notification_id in owned]
        if not mine:
            return []
        held = [o for o in mine if o.deferred_until is not None]
        done = [o for o in mine if o.deferred_until is None]
        plain = [outcome_values(o, now) for o in done if o.payload is None]
        rendered = [outcome_values(o, now) | {"b_payload": o.payload} for o in done if o.payload]
        execute_rows(connection, OUTCOME, plain)
        execute_rows(connection, RENDERED_OUTCOME, rendered)
        if held:
            connection.execute(
                DEFERRED,
                [
                    {"b_id": o.notification_id, "b_until": o.deferred_until, "b_now": now}
                    for o in held
                ],
            )
        insert_rows(
            connection,
            EVENTS,
            [
                event_row(
                    o.notification_id,
                    o.user_id,
                    o.channel,
                    o.event,
                    o.status,
                    now,
                    o.event_metadata,
                )
                for o in mine
            ],
        )
        return [o.notification_id for o in mine]

    return job


# An executemany with our own WHERE: the status guard stays on every row.
OUTCOME = (
    update(NOTIFICATIONS)
    .where(N.id == bindparam("b_id"), N.status == S.PROCESSING)
    .values(
        status=bindparam("b_status"),
        sent_at=bindparam("b_sent_at"),
        failed_at=bindparam("b_failed_at"),
        error_message=bindparam("b_error"),
        next_attempt_at=bindparam("b_next"),
        provider=bindparam("b_provider"),
        provider_message_id=bindparam("b_message_id"),
        published_at=None,
        claimed_at=None,
        updated_at=bindparam("b_now"),
    )
)


# quiet hours: back to SCHEDULED until they end; the claim's attempt is given back,
# since nothing was tried
DEFERRED = (
    update(NOTIFICATIONS)
    .where(N.id == bindparam("b_id"), N.status == S.PROCESSING)
    .values(
        status=S.SCHEDULED,
        scheduled_for=bindparam("b_until"),
        attempts=N.attempts - 1,
        next_attempt_at=None,
        published_at=None,
        claimed_at=None,
        updated_at=bindparam("b_now"),
    )
)

# a templated notification also keeps what it rendered to, for its reader and its inbox
RENDERED_OUTCOME = OUTCOME.values(payload=bindparam("b_payload"))


def outcome_values(outcome: DeliveryOutcome, now: datetime) -> dict[str, Any]:
    return {
        "b_id": outcome.notification_id,
        "b_status": outcome.status,
        "b_sent_at": now if outcome.status is S.SENT else None,
        "b_failed_at": now if outcome.status is S.FAILED else None,
        "b_error": outcome.error,
        "b_next": outcome.next_attempt_at,
        "b_provider": outcome.provider,
        "b_message_id": outcome.provider_message_id,
        "b_now": now,
    }


def mark_published(ids: Sequence[uuid.UUID], at: datetime) -> Callable[[Connection], None]:
    def job(connection: Connection) -> None:
        if ids:
            # attempts = 0: a fast first try may already have scheduled a retry,
            # whose publish is the sweeper's to do, not this confirmation's.
            # SKIP LOCKED: a row a worker holds is being claimed or recorded and
            # needs no confirmation. Waiting for it instead deadlocked with the
            # worker's multi-row outcome UPDATE on PostgreSQL (rows locked in
            # different orders), and the worker's batch then waited out the
            # claim lease. (SQLite has one writer and no row locks: no clause.)
            unconfirmed = (
                select(N.id)
                .where(N.id.in_(ids), N.published_at.is_(None), N.attempts == 0)
                .with_for_update(skip_locked=True)
            )
            connection.execute(
                update(NOTIFICATIONS)
                .where(N.id.in_(unconfirmed.scalar_subquery()))
                .values(published_at=at)
            )

    return job


def confirm_retries(messages: Sequence[QueueMessage], at: datetime) -> Callable[[Connection], None]:
    def job(connection: Connection) -> None:
        if not messages:
            return
        connection.execute(
            update(NOTIFICATIONS)
            .where(
                N.id == bindparam("b_id"),
                N.status == S.PENDING,
                N.published_at.is_(None),
                # the attempt the retry is for: a row the sweeper already
                # published and a worker retried is not this message's to confirm
                N.attempts == bindparam("b_done"),
            )
            .values(published_at=at),
            [{"b_id": m.notification_id, "b_done": m.attempt - 1} for m in messages],
        )

    return job


def forget_tokens(tokens: Sequence[str]) -> Callable[[Connection], None]:
    def job(connection: Connection) -> None:
        if tokens:
            connection.execute(delete(DEVICES).where(DEVICES.c.token.in_(tokens)))

    return job


def suppress(numbers: Sequence[str], reason: str, now: datetime) -> Callable[[Connection], None]:
    """Never text these numbers again; one already suppressed keeps its first reason."""
    rows = [{"phone": n, "reason": reason, "created_at": now} for n in sorted(set(numbers))]

    def job(connection: Connection) -> None:
        dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
        connection.execute(dialect.insert(SUPPRESSIONS).on_conflict_do_nothing(), rows)

    return job


class KeyLost(Exception):
    """The request no longer holds its idempotency key: nothing of it is stored."""


def finish_idempotent(
    scope: str, key: str, status: int, body: Any, *, reserved_at: datetime
) -> Callable[[Connection], None]:
    """Store the response with the request's work, or raise `KeyLost` so that
    the request's writes roll back with it."""

    def job(connection: Connection) -> None:
        result = connection.execute(
            update(IDEMPOTENCY)
            .where(
                IDEMPOTENCY.c.scope == scope,
                IDEMPOTENCY.c.key == key,
                IDEMPOTENCY.c.created_at == reserved_at,
                IDEMPOTENCY.c.response_status.is_(None),
            )
            .values(response_status=status, response_body=body)
        )
        if result.rowcount != 1:
            raise KeyLost

    return job
