"""Stage 5, after-commit effects: what follows once outcomes are stored:
retries to the queue's relay, dead letters announced, live inbox, caches."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace

from clarion.domain.content import queue_key
from clarion.domain.delivery import QueueMessage, correlation_of
from clarion.domain.enums import NotificationStatus
from clarion.domain.pipeline import Claimed, DeliveryOutcome
from clarion.observability.logging import get_logger
from clarion.ports import Queue, UnitOfWork
from clarion.services.outbox import publish_retries

log = get_logger(__name__)
S = NotificationStatus


def as_message(claimed: Claimed) -> QueueMessage:
    record = claimed.record
    return QueueMessage(
        notification_id=record.id,
        user_id=record.user_id,
        channel=record.channel,
        priority=record.priority,
        attempt=record.attempts,
        key=queue_key(record.channel, record.payload, record.user_id),
        correlation_id=correlation_of(record.metadata),
    )


async def schedule_retries(
    uow_factory: Callable[[], UnitOfWork],
    queue: Queue,
    claimed: Sequence[Claimed],
    outcomes: Sequence[DeliveryOutcome],
    stored: set[uuid.UUID],
) -> None:
    due = {
        o.notification_id: o.next_attempt_at
        for o in outcomes
        if o.status is S.PENDING and o.notification_id in stored
    }
    retries = [
        replace(as_message(c), attempt=c.record.attempts + 1, due_at=due[c.record.id])
        for c in claimed
        if c.record.id in due
    ]
    await publish_retries(uow_factory, queue, retries)


async def announce_dead_letters(
    queue: Queue,
    claimed: Sequence[Claimed],
    outcomes: Sequence[DeliveryOutcome],
    stored: set[uuid.UUID],
) -> None:
    dead = {
        o.notification_id for o in outcomes if o.status is S.FAILED and o.notification_id in stored
    }
    if not dead:
        return
    letters = [as_message(c) for c in claimed if c.record.id in dead]
    try:
        await queue.publish_dead_letters(letters)
    except Exception as exc:  # the rows are FAILED in the database all the same
        log.warning("worker.dead_letters.unannounced", error=type(exc).__name__)
