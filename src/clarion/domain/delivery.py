"""What a worker hands a provider, and what comes back."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from clarion.domain.content import Content
from clarion.domain.enums import Channel, Priority

# the seed's key for the accepting request's id, in a notification's metadata
CORRELATION_ID = "correlationId"


class Outcome(StrEnum):
    SENT = "sent"
    RETRY = "retry"  # transient: try again no sooner than `retry_after`
    PERMANENT = "permanent"  # the message can never succeed as it is


@dataclass(frozen=True)
class OutgoingMessage:
    notification_id: uuid.UUID
    user_id: uuid.UUID
    channel: Channel
    priority: Priority
    recipient: str
    content: Content
    attempt: int


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    provider: str
    provider_message_id: str | None = None
    error: str | None = None
    retry_after: float | None = None
    # the provider itself is unwell (5xx, timeout, 401/403), not this message:
    # counts toward opening its circuit, and the next provider in the chain is tried
    provider_fault: bool = False
    # the address is dead for good: a push token is removed, an SMS number suppressed
    forget_recipient: bool = False

    @classmethod
    def sent(cls, provider: str, message_id: str | None) -> SendResult:
        return cls(Outcome.SENT, provider, message_id)

    @classmethod
    def retry(
        cls,
        provider: str,
        error: str,
        retry_after: float | None = None,
        *,
        provider_fault: bool = False,
    ) -> SendResult:
        return cls(
            Outcome.RETRY,
            provider,
            error=error,
            retry_after=retry_after,
            provider_fault=provider_fault,
        )

    @classmethod
    def permanent(
        cls,
        provider: str,
        error: str,
        *,
        provider_fault: bool = False,
        forget_recipient: bool = False,
    ) -> SendResult:
        return cls(
            Outcome.PERMANENT,
            provider,
            error=error,
            provider_fault=provider_fault,
            forget_recipient=forget_recipient,
        )


@dataclass(frozen=True)
class QueueMessage:
    """The body carried by the queue (the seed's NotificationMessage): enough to
    route and order; the database row stays the source of truth."""

    notification_id: uuid.UUID
    user_id: uuid.UUID
    channel: Channel
    priority: Priority
    attempt: int
    key: str  # the recipient: one recipient's messages keep their order in a lane
    # where the transport keeps it (Kafka: topic, partition, offset), for acknowledgement
    receipt: tuple[str, int, int] | None = None
    # a retry: handed to a worker no sooner than this (the seed's scheduledFor)
    due_at: datetime | None = None
    # the id of the request that accepted the notification, for the worker's log lines
    correlation_id: str | None = None
    # the W3C trace context of the publish, while tracing is on (a Kafka header)
    traceparent: str | None = None


def correlation_of(metadata: Mapping[str, Any] | None) -> str | None:
    """The correlation id an accepted notification keeps in its metadata."""
    value = metadata.get(CORRELATION_ID) if metadata else None
    return value if isinstance(value, str) else None
