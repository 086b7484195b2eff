"""The sandbox provider: records what would be sent, for every channel.

Like the providers' own test credentials it reacts to magic recipients, so
users and tests can watch retries and the dead-letter queue work:

| recipient contains | or SMS number | effect |
|---|---|---|
| `fail-permanent` | `+15005550001` | fails for good at once (dead letter) |
| `fail-transient-N` | `+1500555010N` | fails transiently on the first N attempts, then is sent |
| `rate-limited-S` | | answers "retry no sooner than S seconds" once, then is sent |
| `slow-MS` | `+15005550200` (2 s) | answers after MS milliseconds |
"""

from __future__ import annotations

import asyncio
import re

from clarion.domain.delivery import OutgoingMessage, SendResult
from clarion.ports import SandboxOutbox

PERMANENT = re.compile(r"fail-permanent|^\+15005550001$")
TRANSIENT = re.compile(r"fail-transient-(\d+)|^\+1500555010(\d)$")
RATE_LIMITED = re.compile(r"rate-limited-(\d+)")
SLOW = re.compile(r"slow-(\d+)|^\+15005550200$")


class SandboxProvider:
    name = "sandbox"

    def __init__(self, outbox: SandboxOutbox) -> None:
        self._outbox = outbox

    async def send(self, message: OutgoingMessage) -> SendResult:
        recipient = message.recipient
        if slow := SLOW.search(recipient):
            await asyncio.sleep(int(slow.group(1) or 2000) / 1000)
        if PERMANENT.search(recipient):
            return SendResult.permanent(self.name, "sandbox: recipient rejected permanently")
        if transient := TRANSIENT.search(recipient):
            failures = int(transient.group(1) or transient.group(2))
            if message.attempt <= failures:
                return SendResult.retry(
                    self.name, f"sandbox: transient failure {message.attempt} of {failures}"
                )
        if (limited := RATE_LIMITED.search(recipient)) and message.attempt == 1:
            return SendResult.retry(
                self.name, "sandbox: rate limited", retry_after=float(limited.group(1))
            )
        message_id = await self._outbox.record(message)
        return SendResult.sent(self.name, message_id)
