"""The webhook channel: POST the notification as JSON to the receiver's URL,
signed with HMAC-SHA256, and never to a private or loopback address.

The signature header is `X-Clarion-Signature: t=<unix seconds>,v1=<hex>`,
where the hex is HMAC-SHA256 keyed with `CLARION_WEBHOOK_SECRET` over
`"<t>." + raw body`. A receiver recomputes it, compares in constant time and
rejects old timestamps. Each host name is resolved and every address it
resolves to is checked before the request is made.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx

from clarion.domain.delivery import OutgoingMessage, SendResult
from clarion.domain.webhooks import AddressPolicy
from clarion.observability.logging import get_logger

log = get_logger(__name__)
SIGNATURE_HEADER = "X-Clarion-Signature"


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class WebhookProvider:
    name = "webhook"

    def __init__(
        self,
        *,
        secret: bytes,
        policy: AddressPolicy,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secret = secret
        self._policy = policy
        self._clock = clock
        # redirects are not followed: a public URL could redirect inwards
        self._http = httpx.AsyncClient(timeout=timeout, follow_redirects=False)

    async def send(self, message: OutgoingMessage) -> SendResult:
        url = message.recipient
        refused = self._policy.refusal(url) or await self._resolved_refusal(url)
        if refused:
            return SendResult.permanent(self.name, f"webhook: {refused}")
        body = json.dumps(
            {
                "id": str(message.notification_id),
                "userId": str(message.user_id),
                "attempt": message.attempt,
                "sentAt": datetime.now(UTC).isoformat(),
                "data": message.content.get("data", {}),
            },
            separators=(",", ":"),
        ).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Clarion-Webhook/1",
            "X-Clarion-Notification-Id": str(message.notification_id),
            SIGNATURE_HEADER: sign(self._secret, int(self._clock()), body),
        }
        try:
            response = await self._http.post(url, content=body, headers=headers)
        except httpx.TimeoutException:
            return SendResult.retry(self.name, "webhook: timed out")
        except httpx.HTTPError as exc:
            return SendResult.retry(self.name, f"webhook: {type(exc).__name__}")
        return self._outcome(response)

    def _outcome(self, response: httpx.Response) -> SendResult:
        code = response.status_code
        if 200 <= code < 300:
            return SendResult.sent(self.name, response.headers.get("X-Request-Id"))
        if code in {408, 429} or code >= 500:
            # one receiver's trouble is not the channel's: no provider fault
            return SendResult.retry(
                self.name, f"webhook: HTTP {code}", retry_after=retry_after(response)
            )
        return SendResult.permanent(self.name, f"webhook: HTTP {code}")

    async def _resolved_refusal(self, url: str) -> str | None:
        host = self._policy.host_of(url)
        try:
            ipaddress.ip_address(host)
            return None  # a literal address was judged already
        except ValueError:
            pass
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, None, type=socket.SOCK_STREAM
            )
        except OSError:
            return "the host name does not resolve"
        for info in infos:
            address = ipaddress.ip_address(info[4][0])
            refused = self._policy.address_refusal(address, host)
            if refused:
                return refused
        return None

    async def close(self) -> None:
        await self._http.aclose()


def retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
