"""Notifications and events as plain JSON documents: the shape exports write
and archive files keep, so an archived row reads back as an exported one."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy.orm import InstrumentedAttribute

from clarion.adapters.db.models import Event, Notification

Fields = tuple[tuple[str, InstrumentedAttribute[Any]], ...]

# (document field, column), in the order exports write them
NOTIFICATION_FIELDS: Fields = (
    ("id", Notification.id),
    ("userId", Notification.user_id),
    ("channel", Notification.channel),
    ("type", Notification.type),
    ("priority", Notification.priority),
    ("status", Notification.status),
    ("payload", Notification.payload),
    ("metadata", Notification.metadata_),
    ("scheduledFor", Notification.scheduled_for),
    ("sentAt", Notification.sent_at),
    ("failedAt", Notification.failed_at),
    ("errorMessage", Notification.error_message),
    ("attempts", Notification.attempts),
    ("provider", Notification.provider),
    ("providerMessageId", Notification.provider_message_id),
    ("receipt", Notification.receipt),
    ("readAt", Notification.read_at),
    ("createdAt", Notification.created_at),
    ("updatedAt", Notification.updated_at),
)

EVENT_FIELDS: Fields = (
    ("id", Event.id),
    ("notificationId", Event.notification_id),
    ("userId", Event.user_id),
    ("type", Event.type),
    ("status", Event.status),
    ("channel", Event.channel),
    ("metadata", Event.metadata_),
    ("timestamp", Event.timestamp),
)


def plain(value: Any) -> Any:
    """A column value as JSON has it: ids and enums as strings, times in ISO 8601."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def document(fields: Fields, row: Any) -> dict[str, Any]:
    """One selected row (its columns in `fields` order) as a document."""
    return {name: plain(value) for (name, _), value in zip(fields, row, strict=True)}


def columns(fields: Fields) -> list[InstrumentedAttribute[Any]]:
    return [column for _, column in fields]


def field_names(fields: Fields) -> list[str]:
    return [name for name, _ in fields]
