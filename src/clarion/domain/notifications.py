"""Notifications: the status machine, priority lanes and the retry policy."""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from clarion.domain.enums import (
    Channel,
    EventType,
    NotificationStatus,
    NotificationType,
    Priority,
    Receipt,
)
from clarion.domain.errors import Conflict
from clarion.domain.ids import new_id

S = NotificationStatus

# The one place that says which status may follow which.
ALLOWED: dict[NotificationStatus, frozenset[NotificationStatus]] = {
    S.SCHEDULED: frozenset({S.PENDING, S.CANCELLED}),
    S.PENDING: frozenset({S.PROCESSING, S.CANCELLED, S.SCHEDULED}),
    # PROCESSING → PENDING is a retry, or a claim whose worker died
    # PROCESSING → SCHEDULED is a deferral: quiet hours hold it until they end
    S.PROCESSING: frozenset({S.SENT, S.FAILED, S.PENDING, S.NOT_SENT, S.SCHEDULED}),
    S.FAILED: frozenset({S.PENDING}),  # an admin re-drives a dead letter
    S.SENT: frozenset(),
    S.CANCELLED: frozenset(),
    S.NOT_SENT: frozenset(),
}
CANCELLABLE = frozenset({S.PENDING, S.SCHEDULED})
EDITABLE = CANCELLABLE


def check_transition(current: NotificationStatus, target: NotificationStatus) -> None:
    if target not in ALLOWED[current]:
        raise Conflict(f"A {current.value} notification cannot become {target.value}.")


def sources_of(target: NotificationStatus) -> frozenset[NotificationStatus]:
    """Every status from which `target` may be reached: the WHERE of a conditional update."""
    return frozenset(status for status, nexts in ALLOWED.items() if target in nexts)


# Lower rank is served first: a LOW backlog never delays URGENT work.
PRIORITY_RANK = {Priority.URGENT: 0, Priority.HIGH: 1, Priority.MEDIUM: 2, Priority.LOW: 3}
LANES = tuple(sorted(PRIORITY_RANK, key=PRIORITY_RANK.__getitem__))


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter; `Retry-After` from a provider is a floor."""

    max_retries: int = 3
    base_seconds: float = 1.0
    cap_seconds: float = 300.0
    # a provider's Retry-After is untrusted: never wait longer than this
    longest_wait_seconds: float = 86_400.0

    def exhausted(self, attempts: int) -> bool:
        """`attempts` counts every try so far, the first included."""
        return attempts > self.max_retries

    def delay(
        self,
        attempts: int,
        *,
        retry_after: float | None = None,
        rng: Callable[[float, float], float] = random.uniform,
    ) -> float:
        ceiling = min(self.cap_seconds, self.base_seconds * 2 ** (attempts - 1))
        delay = rng(0.0, ceiling)
        if retry_after is not None and not math.isnan(retry_after):
            delay = max(delay, min(retry_after, self.longest_wait_seconds))
        return delay


@dataclass
class NewNotification:
    user_id: uuid.UUID
    channel: Channel
    type: NotificationType
    priority: Priority
    payload: dict[str, Any]
    metadata: dict[str, Any] | None
    scheduled_for: datetime | None
    id: uuid.UUID = field(default_factory=new_id)

    def initial_status(self, now: datetime) -> NotificationStatus:
        if self.scheduled_for is not None and self.scheduled_for > now:
            return S.SCHEDULED
        return S.PENDING

    def initial_events(self, now: datetime) -> list[EventType]:
        if self.initial_status(now) is S.SCHEDULED:
            return [EventType.CREATED, EventType.SCHEDULED]
        return [EventType.CREATED]


@dataclass
class NotificationRecord:
    id: uuid.UUID
    user_id: uuid.UUID
    channel: Channel
    type: NotificationType
    priority: Priority
    status: NotificationStatus
    payload: dict[str, Any]
    metadata: dict[str, Any] | None
    scheduled_for: datetime | None
    sent_at: datetime | None
    failed_at: datetime | None
    error_message: str | None
    attempts: int
    next_attempt_at: datetime | None
    provider: str | None
    provider_message_id: str | None
    created_at: datetime
    updated_at: datetime
    receipt: Receipt | None = None  # the furthest provider receipt
    read_at: datetime | None = None  # in-app: read by the user


@dataclass(frozen=True)
class EventRecord:
    id: uuid.UUID
    notification_id: uuid.UUID
    type: EventType
    status: NotificationStatus
    channel: Channel
    metadata: dict[str, Any] | None
    timestamp: datetime


def retry_at(now: datetime, delay_seconds: float) -> datetime:
    return now + timedelta(seconds=delay_seconds)
