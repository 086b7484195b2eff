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
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import SplitResult, urlsplit, urlunsplit

import httpx

from clarion.adapters.providers.http_retry import retry_after
from clarion.domain.content import WebhookContent, expect
from clarion.domain.delivery import OutgoingMessage, SendResult
from clarion.domain.webhooks import AddressPolicy, IpAddress, literal_address
from clarion.observability.logging import get_logger

log = get_logger(__name__)
SIGNATURE_HEADER = "X-Clarion-Signature"
# resolver answers that mean the name does not exist, as opposed to "try later"
NO_SUCH_NAME = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}


@dataclass(frozen=True)
class Pinned:
    """A URL rewritten to a checked address, with the name it was written with."""

    url: str
    host: str
    host_header: str

    @classmethod
    def of(cls, parts: SplitResult, host: str, address: IpAddress) -> Pinned:
        literal = f"[{address}]" if address.version == 6 else str(address)
        port = f":{parts.port}" if parts.port else ""
        netloc = literal + port
        url = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
        named = f"[{host}]" if ":" in host else host
        return cls(url=url, host=host, host_header=named + port)


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
        refused = self._policy.refusal(url)
        if refused is not None:
            return SendResult.permanent(self.name, f"webhook: {refused}")
        pinned = await self._resolve(url)
        if isinstance(pinned, SendResult):
            return pinned
        body = json.dumps(
            {
                "id": str(message.notification_id),
                "userId": str(message.user_id),
                "attempt": message.attempt,
                "sentAt": datetime.now(UTC).isoformat(),
                "data": expect(message.content, WebhookContent).data,
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
            # to the address that was checked, never a second lookup's answer
            # (DNS rebinding); Host and TLS name stay the URL's own
            response = await self._http.post(
                pinned.url,
                content=body,
                headers={**headers, "Host": pinned.host_header},
                extensions={"sni_hostname": pinned.host},
            )
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

    async def _resolve(self, url: str) -> Pinned | SendResult:
        """Every address the host resolves to must be allowed; the request then
        goes to the first of them. A name that does not exist fails for good; a
        resolver that could not answer now is tried again later."""
        parts = urlsplit(url)
        host = self._policy.host_of(url)
        literal = literal_address(host)
        if literal is not None:
            addresses = [literal]
        else:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(
                    host,
                    parts.port or (443 if parts.scheme == "https" else 80),
                    type=socket.SOCK_STREAM,
                )
            except socket.gaierror as exc:
                if exc.errno in NO_SUCH_NAME:
                    return SendResult.permanent(self.name, "webhook: the host name does not exist")
                return SendResult.retry(self.name, "webhook: the host name could not be resolved")
            addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
            for address in addresses:
                refused = self._policy.address_refusal(address, host)
                if refused:
                    return SendResult.permanent(self.name, f"webhook: {refused}")
        if not addresses:
            return SendResult.permanent(self.name, "webhook: the host name has no address")
        return Pinned.of(parts, host, addresses[0])

    async def close(self) -> None:
        await self._http.aclose()
