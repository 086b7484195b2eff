"""The in-app channel: the notification row is the inbox entry, so sending is
only recording it as SENT. The worker announces it on the user's live stream
once that is committed (clarion.services.inbox)."""

from __future__ import annotations

from clarion.domain.delivery import OutgoingMessage, SendResult


class InboxProvider:
    name = "inbox"

    async def send(self, message: OutgoingMessage) -> SendResult:
        return SendResult.sent(self.name, str(message.notification_id))
