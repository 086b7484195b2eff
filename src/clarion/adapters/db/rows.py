"""Mapping between notification rows and the domain's records."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from clarion.adapters.db.models import Event, Notification
from clarion.domain.enums import EventType, NotificationStatus
from clarion.domain.ids import new_id
from clarion.domain.notifications import EventRecord, NotificationRecord


def record_from_row(row: Notification) -> NotificationRecord:
    return NotificationRecord(
        id=row.id,
        user_id=row.user_id,
        channel=row.channel,
        type=row.type,
        priority=row.priority,
        status=row.status,
        payload=row.payload,
        metadata=row.metadata_,
        scheduled_for=row.scheduled_for,
        sent_at=row.sent_at,
        failed_at=row.failed_at,
        error_message=row.error_message,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        provider=row.provider,
        provider_message_id=row.provider_message_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        receipt=row.receipt,
        read_at=row.read_at,
    )


def event_from_row(row: Event) -> EventRecord:
    return EventRecord(
        id=row.id,
        notification_id=row.notification_id,
        type=row.type,
        status=row.status,
        channel=row.channel,
        metadata=row.metadata_,
        timestamp=row.timestamp,
    )


def event_row(
    notification_id: uuid.UUID,
    user_id: uuid.UUID,
    channel: Any,
    event_type: EventType,
    status: NotificationStatus,
    now: datetime,
    metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "id": new_id(),
        "notification_id": notification_id,
        "user_id": user_id,
        "type": event_type,
        "status": status,
        "channel": channel,
        "metadata": metadata,
        "timestamp": now,
    }
