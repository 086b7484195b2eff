"""Live in-app delivery: once a worker has stored an in-app notification as
SENT, it is announced on its user's fan-out channel, where any API process
holding that user's stream passes it on."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime

from clarion.domain.content import InAppContent, expect
from clarion.domain.enums import Channel, NotificationStatus
from clarion.domain.pipeline import Claimed, DeliveryOutcome
from clarion.observability.logging import get_logger
from clarion.ports import Fanout

log = get_logger(__name__)


def inbox_channel(user_id: uuid.UUID) -> str:
    return f"inbox:{user_id}"


async def announce_sent(
    fanout: Fanout,
    claimed: Sequence[Claimed],
    outcomes: Sequence[DeliveryOutcome],
    stored: set[uuid.UUID],
    sent_at: datetime,
) -> None:
    """Called after the outcomes are committed, so a client that reads its inbox
    on the event finds the notification there. Best effort: a stream that
    misses it finds it in the inbox."""
    sent = {
        o.notification_id
        for o in outcomes
        if o.channel is Channel.IN_APP
        and o.status is NotificationStatus.SENT
        and o.notification_id in stored
    }
    items = [item for item in claimed if item.record.id in sent]
    try:
        await fanout.publish_many(
            [(inbox_channel(i.record.user_id), announcement(i, sent_at)) for i in items]
        )
    except Exception as exc:
        log.warning("inbox.announce.failed", count=len(items), error=type(exc).__name__)


def announcement(item: Claimed, sent_at: datetime) -> bytes:
    content = expect(item.content or InAppContent("", ""), InAppContent)
    body = {
        "id": str(item.record.id),
        "title": content.title,
        "body": content.body,
        "data": content.data,
        "priority": item.record.priority.value,
        "sentAt": sent_at.isoformat(),
    }
    return json.dumps(body).encode()
