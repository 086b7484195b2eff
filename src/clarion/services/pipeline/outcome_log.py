"""After record: one log line per stored outcome, with the correlation id its
queue message carried and the notification's own sampling decision."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from clarion.domain.delivery import QueueMessage
from clarion.domain.enums import NotificationStatus
from clarion.domain.pipeline import DeliveryOutcome
from clarion.observability.context import (
    begin_notification,
    end_scope,
    keeps_notification,
    writes_info,
)
from clarion.observability.logging import get_logger

log = get_logger(__name__)
S = NotificationStatus
EVENTS = {
    S.SENT: "delivery.sent",
    S.PENDING: "delivery.retry_scheduled",
    S.SCHEDULED: "delivery.deferred",
    S.NOT_SENT: "delivery.not_sent",
    S.FAILED: "delivery.failed",
}


def log_outcomes(
    messages: Sequence[QueueMessage], outcomes: Sequence[DeliveryOutcome], stored: set[uuid.UUID]
) -> None:
    """A failure is a warning and always written; the rest are info lines,
    written for the sampled-in notifications only, and cost nothing otherwise."""
    info = writes_info()
    correlations: dict[uuid.UUID, str | None] | None = None
    for outcome in outcomes:
        failed = outcome.status is S.FAILED
        if outcome.notification_id not in stored:
            continue
        if not failed and not (info and keeps_notification(outcome.notification_id)):
            continue
        if correlations is None:
            correlations = {m.notification_id: m.correlation_id for m in messages}
        correlation_id = correlations.get(outcome.notification_id)
        scope = begin_notification(outcome.notification_id, correlation_id)
        try:
            (log.warning if failed else log.info)(
                EVENTS.get(outcome.status, "delivery.outcome"),
                notification_id=str(outcome.notification_id),
                channel=outcome.channel.value,
                provider=outcome.provider,
                attempt=(outcome.event_metadata or {}).get("attempt"),
            )
        finally:
            end_scope(scope)
