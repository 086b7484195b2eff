"""Notification bodies. The payload is checked against its channel's shape."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter

from clarion.api.schemas import (
    E164,
    Email,
    Moment,
    PartModel,
    PushToken,
    RequestModel,
    ResponseModel,
)
from clarion.domain.enums import (
    Channel,
    EventType,
    NotificationStatus,
    NotificationType,
    Priority,
    Receipt,
)
from clarion.domain.notifications import EventRecord, NotificationRecord

Text = Annotated[str, Field(min_length=1, max_length=10_000)]
Short = Annotated[str, Field(min_length=1, max_length=500)]
Metadata = Annotated[dict[str, Any], Field(max_length=50)]


class EmailPayload(PartModel):
    subject: Short
    body: Text
    html: Annotated[str, Field(max_length=100_000)] | None = None
    to: Email | None = Field(default=None, description="Default: the user's email.")


class SmsPayload(PartModel):
    body: Annotated[str, Field(min_length=1, max_length=1600)]
    to: E164 | None = Field(default=None, description="Default: the user's phone.")


class PushPayload(PartModel):
    title: Short
    body: Text
    data: dict[str, str] | None = None
    token: PushToken | None = Field(
        default=None, description="Default: every device the user registered."
    )


class InAppPayload(PartModel):
    title: Short
    body: Text
    data: dict[str, Any] | None = None


class WebhookPayload(PartModel):
    url: Annotated[
        str,
        Field(
            min_length=1,
            max_length=2048,
            pattern=r"^https?://",
            json_schema_extra={"format": "uri"},
            description="An http(s) URL on a public address (internal ones are refused: 422).",
        ),
    ]
    data: dict[str, Any] = Field(description="The JSON sent to the URL, signed.")


class NotificationFields(RequestModel):
    user_id: uuid.UUID
    type: NotificationType
    priority: Priority = Priority.MEDIUM
    scheduled_for: Moment | None = None
    metadata: Metadata | None = None


class EmailNotification(NotificationFields):
    channel: Literal[Channel.EMAIL]
    payload: EmailPayload


class SmsNotification(NotificationFields):
    channel: Literal[Channel.SMS]
    payload: SmsPayload


class PushNotification(NotificationFields):
    channel: Literal[Channel.PUSH]
    payload: PushPayload


class InAppNotification(NotificationFields):
    channel: Literal[Channel.IN_APP]
    payload: InAppPayload


class WebhookNotification(NotificationFields):
    channel: Literal[Channel.WEBHOOK]
    payload: WebhookPayload


AnyNotification = (
    EmailNotification | SmsNotification | PushNotification | InAppNotification | WebhookNotification
)

# The channel picks the payload's shape, so errors name `payload.to`, not a guess.
NotificationCreate = Annotated[AnyNotification, Field(discriminator="channel")]
NotificationCreateAdapter: TypeAdapter[AnyNotification] = TypeAdapter(NotificationCreate)


class NotificationBatch(PartModel):
    # items are validated one by one, so one bad item (even one that is not an
    # object) gets its own error and does not reject the rest
    notifications: Annotated[
        list[Any],
        Field(
            min_length=1,
            max_length=1000,
            description="Each item is a notification as POST /notifications takes it. Items are "
            "checked one by one: a bad item gets its own error in `results`.",
        ),
    ]


class NotificationUpdate(RequestModel):
    scheduled_for: Moment | None = None
    priority: Priority | None = None
    metadata: Metadata | None = None
    status: Literal["CANCELLED"] | None = Field(
        default=None, description="Set to CANCELLED to cancel."
    )


class NotificationOut(ResponseModel):
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
    receipt: Receipt | None = Field(
        default=None, description="Furthest provider receipt: DELIVERED, OPENED or CLICKED."
    )
    read_at: datetime | None = None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, record: NotificationRecord) -> NotificationOut:
        return cls.model_validate(record, from_attributes=True)


class EventOut(ResponseModel):
    id: uuid.UUID
    notification_id: uuid.UUID
    type: EventType
    status: NotificationStatus
    channel: Channel
    metadata: dict[str, Any] | None
    timestamp: datetime

    @classmethod
    def of(cls, record: EventRecord) -> EventOut:
        return cls.model_validate(record, from_attributes=True)


class NotificationPage(ResponseModel):
    items: list[NotificationOut]
    next_cursor: str | None


class BatchItemResult(BaseModel):
    index: int
    status: int
    notification: NotificationOut | None = None
    error: dict[str, Any] | None = None


class BatchResult(ResponseModel):
    created: int
    failed: int
    results: list[BatchItemResult]


class DeadLetterOut(ResponseModel):
    notification: NotificationOut
    errors: list[EventOut]
