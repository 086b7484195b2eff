"""Values that move through the delivery pipeline and the read side."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from clarion.domain.content import Content
from clarion.domain.enums import (
    Channel,
    EventType,
    NotificationStatus,
    NotificationType,
    Priority,
)
from clarion.domain.notifications import NotificationRecord


@dataclass(frozen=True)
class Claimed:
    """A notification a worker now owns, with what it needs to address it."""

    record: NotificationRecord
    user_email: str
    phone: str | None = None
    devices: tuple[str, ...] = ()  # the user's push tokens
    suppressed: str | None = None  # why its address must not be written to (STOP, a bounce)
    locale: str | None = None  # the user's, for rendering a template
    # what is sent: read from the payload at claim, or rendered from its template
    content: Content | None = None
    render_error: str | None = None  # the template could not be rendered: never sent


@dataclass(frozen=True)
class DeliveryOutcome:
    notification_id: uuid.UUID
    user_id: uuid.UUID
    channel: Channel
    status: NotificationStatus  # SENT, PENDING (a retry) or FAILED
    event: EventType
    provider: str | None = None
    provider_message_id: str | None = None
    error: str | None = None
    next_attempt_at: datetime | None = None
    event_metadata: dict[str, Any] | None = None
    # addresses found dead for good: push tokens to remove, SMS numbers to suppress
    forget: tuple[str, ...] = ()
    # a templated notification's payload with what it rendered to, to be stored
    payload: dict[str, Any] | None = None
    # a deferral (status SCHEDULED): when quiet hours end; the claim's attempt is given back
    deferred_until: datetime | None = None

    @classmethod
    def of(
        cls, record: NotificationRecord, status: NotificationStatus, event: EventType, **more: Any
    ) -> DeliveryOutcome:
        return cls(
            notification_id=record.id,
            user_id=record.user_id,
            channel=record.channel,
            status=status,
            event=event,
            **more,
        )


@dataclass(frozen=True)
class NotificationQuery:
    user_id: uuid.UUID | None = None
    statuses: tuple[NotificationStatus, ...] = ()
    channels: tuple[Channel, ...] = ()
    types: tuple[NotificationType, ...] = ()
    priorities: tuple[Priority, ...] = ()
    created_from: datetime | None = None
    created_to: datetime | None = None
    after: tuple[datetime, uuid.UUID] | None = None
    limit: int = 50
    # admins' search: in the payload (content, explicit address, template
    # variables) or the recipient's email or phone, ignoring case
    text: str | None = None


@dataclass(frozen=True)
class Page:
    items: list[NotificationRecord] = field(default_factory=list)
    last: tuple[datetime, uuid.UUID] | None = None  # where the next page starts, if any
