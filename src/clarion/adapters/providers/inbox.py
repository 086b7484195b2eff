"""The in-app channel: the notification row is the inbox entry; sending it
announces it on the user's fan-out channel so open streams show it at once."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from clarion.domain.delivery import OutgoingMessage, SendResult
from clarion.ports import Fanout


def inbox_channel(user_id: uuid.UUID) -> str:
    return f"inbox:{user_id}"


class InboxProvider:
    name = "inbox"

    def __init__(self, fanout: Fanout) -> None:
        self._fanout = fanout

    async def send(self, message: OutgoingMessage) -> SendResult:
        announcement = {
            "id": str(message.notification_id),
            "title": message.content.get("title"),
            "body": message.content.get("body"),
            "data": message.content.get("data"),
            "priority": message.priority.value,
            "sentAt": datetime.now(UTC).isoformat(),
        }
        # best effort: a stream that misses it finds it in the inbox
        await self._fanout.publish(
            inbox_channel(message.user_id), json.dumps(announcement).encode()
        )
        return SendResult.sent(self.name, str(message.notification_id))
