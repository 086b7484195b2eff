"""Provider receipts: what happened to a message after the provider took it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from clarion.domain.enums import EventType, Receipt


class ReceiptKind(StrEnum):
    DELIVERED = "DELIVERED"
    OPENED = "OPENED"
    CLICKED = "CLICKED"
    FAILED = "FAILED"  # bounced, dropped, undelivered: the provider gave up


# a receipt only moves a notification forward along this order
RANK = {None: 0, Receipt.DELIVERED: 1, Receipt.OPENED: 2, Receipt.CLICKED: 3}
EVENT_FOR = {
    ReceiptKind.DELIVERED: EventType.DELIVERED,
    ReceiptKind.OPENED: EventType.OPENED,
    ReceiptKind.CLICKED: EventType.CLICKED,
    ReceiptKind.FAILED: EventType.FAILED,
}


class Applied(StrEnum):
    MOVED = "moved"  # the notification went forward
    RECORDED = "recorded"  # an event was added; the notification was already further on
    DUPLICATE = "duplicate"  # this provider event was applied before
    UNKNOWN = "unknown"  # no notification matches it


@dataclass(frozen=True)
class ReceiptOutcome:
    applied: Applied
    notification_id: uuid.UUID | None = None  # the notification it matched, if any
    user_id: uuid.UUID | None = None


@dataclass(frozen=True)
class ProviderEvent:
    provider: str  # "sendgrid", "twilio"
    event_id: str  # the provider's id for this event: applied once
    kind: ReceiptKind
    notification_id: uuid.UUID | None = None
    provider_message_id: str | None = None
    occurred_at: datetime | None = None
    detail: dict[str, Any] = field(default_factory=dict)
