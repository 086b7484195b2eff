"""What a worker hands a provider, built for provider tests."""

from __future__ import annotations

import uuid
from typing import Any

from clarion.domain.content import content_of
from clarion.domain.delivery import OutgoingMessage
from clarion.domain.enums import Channel, Priority


def outgoing(channel: Channel, recipient: str, content: dict[str, Any]) -> OutgoingMessage:
    """A first attempt of a fresh notification to `recipient`; `content` is a
    payload as the API takes it."""
    return OutgoingMessage(
        notification_id=uuid.uuid4(),
        user_id=uuid.uuid4(),
        channel=channel,
        priority=Priority.MEDIUM,
        recipient=recipient,
        content=content_of(channel, content),
        attempt=1,
    )


def email(recipient: str = "ada@example.com", **content: str) -> OutgoingMessage:
    invoice = {"subject": "Your invoice", "body": "Amount due: 12 EUR"}
    return outgoing(Channel.EMAIL, recipient, invoice | content)
