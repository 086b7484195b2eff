"""Notification bodies. The payload is checked against its channel's shape."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Discriminator, Field, Tag, TypeAdapter

from clarion.api.schemas import (
    E164,
    Email,
    LocaleTag,
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


TemplateName = Annotated[
    str,
    Field(
        pattern=r"^[a-z0-9][a-z0-9._-]{0,199}$",
        description="Lower-case letters, digits, '.', '_' and '-'.",
    ),
]


class TemplateRef(PartModel):
    name: TemplateName
    version: Annotated[int, Field(ge=1)] | None = Field(
        default=None, description="Default: the current version, pinned at accept time."
    )
    locale: LocaleTag | None = Field(default=None, description="Default: the user's locale.")


class EmailAddress(PartModel):
    to: Email | None = None


class SmsAddress(PartModel):
    to: E164 | None = None


class PushAddress(PartModel):
    token: PushToken | None = None


class InAppAddress(PartModel):
    pass


class TemplatedFields(NotificationFields):
    template: TemplateRef
    variables: Annotated[dict[str, Any], Field(max_length=100)] = Field(
        default_factory=dict, description="Checked against the template's schema: 422 if not."
    )


class TemplatedEmail(TemplatedFields):
    channel: Literal[Channel.EMAIL]
    payload: EmailAddress | None = Field(default=None, description="Only the address.")


class TemplatedSms(TemplatedFields):
    channel: Literal[Channel.SMS]
    payload: SmsAddress | None = Field(default=None, description="Only the address.")


class TemplatedPush(TemplatedFields):
    channel: Literal[Channel.PUSH]
    payload: PushAddress | None = Field(default=None, description="Only the address.")


class TemplatedInApp(TemplatedFields):
    channel: Literal[Channel.IN_APP]
    payload: InAppAddress | None = None


Templated = TemplatedEmail | TemplatedSms | TemplatedPush | TemplatedInApp
AnyNotification = (
    EmailNotification
    | SmsNotification
    | PushNotification
    | InAppNotification
    | WebhookNotification
    | Templated
)


def shape(value: Any) -> str | None:
    """The channel picks the payload's shape, so errors name `payload.to`, not a
    guess; a body naming a template has the templated shape of its channel."""
    if isinstance(value, dict):
        channel, templated = value.get("channel"), "template" in value
    elif isinstance(value, BaseModel):
        channel, templated = getattr(value, "channel", None), hasattr(value, "template")
    else:  # not an object at all: any member's model says so best
        return Channel.EMAIL.value
    if not isinstance(channel, str):
        return None
    return f"{channel}+template" if templated else channel


NotificationCreate = Annotated[
    Annotated[EmailNotification, Tag("EMAIL")]
    | Annotated[SmsNotification, Tag("SMS")]
    | Annotated[PushNotification, Tag("PUSH")]
    | Annotated[InAppNotification, Tag("IN_APP")]
    | Annotated[WebhookNotification, Tag("WEBHOOK")]
    | Annotated[TemplatedEmail, Tag("EMAIL+template")]
    | Annotated[TemplatedSms, Tag("SMS+template")]
    | Annotated[TemplatedPush, Tag("PUSH+template")]
    | Annotated[TemplatedInApp, Tag("IN_APP+template")],
    Discriminator(
        shape,
        custom_error_type="union_tag_channel",
        custom_error_message="channel must be one of EMAIL, SMS, PUSH, IN_APP, WEBHOOK "
        "(a template: EMAIL, SMS, PUSH, IN_APP)",
    ),
]
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
