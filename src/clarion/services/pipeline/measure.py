"""What a delivered batch adds to the metrics: each stored outcome's status,
each failure's reason, and each SENT notification's time since it was
accepted. Only outcomes that were stored count, so a lost claim or a write
that failed never counts twice."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

from clarion.domain.enums import NotificationStatus
from clarion.domain.notifications import NotificationRecord
from clarion.domain.pipeline import DeliveryOutcome
from clarion.observability.metrics import (
    DELIVERY_LATENCY,
    FAILED,
    count_notifications,
    failure_reason,
    recording,
)


def measure(
    records: Mapping[uuid.UUID, NotificationRecord],
    outcomes: Sequence[DeliveryOutcome],
    stored: Collection[uuid.UUID],
    now: datetime,
) -> None:
    if not recording():
        return
    kept = [o for o in outcomes if o.notification_id in stored]
    count_notifications(
        (o.channel.value, records[o.notification_id].priority.value, o.status.value) for o in kept
    )
    for outcome in kept:
        if outcome.status is NotificationStatus.FAILED:
            permanent = bool((outcome.event_metadata or {}).get("permanent"))
            FAILED.labels(failure_reason(outcome.provider, permanent)).inc()
        elif outcome.status is NotificationStatus.SENT:
            record = records[outcome.notification_id]
            seconds = (now - record.created_at).total_seconds()
            DELIVERY_LATENCY.labels(record.channel.value, record.priority.value).observe(seconds)
