"""The SendGrid provider: email through the Mail Send v3 API.

A 202 means SendGrid queued the message; its `X-Message-Id` is kept so the
Event Webhook's receipts can be matched. The message's own faults (400, 413)
fail for good without touching the circuit; bad credentials (401, 403) fail for good and count
against the provider; a 429 waits for the announced reset; 5xx, timeouts and
network errors are retried and count against the provider.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from email.utils import parseaddr
from typing import Any

import httpx

from clarion.adapters.providers.http_retry import retry_after
from clarion.domain.content import EmailContent, expect
from clarion.domain.delivery import OutgoingMessage, SendResult

MAX_ERROR_LENGTH = 200


class SendGridProvider:
    name = "sendgrid"

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str,
        sender: str,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._api_key = api_key
        self._sender = sender_object(sender)
        self._clock = clock
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout,
        )

    async def send(self, message: OutgoingMessage) -> SendResult:
        try:
            response = await self._client.post("/v3/mail/send", json=self._body(message))
        except httpx.TimeoutException:
            return SendResult.retry(self.name, "sendgrid: timed out", provider_fault=True)
        except httpx.TransportError as exc:
            return SendResult.retry(
                self.name, f"sendgrid: {type(exc).__name__}", provider_fault=True
            )
        return self._result(response)

    async def close(self) -> None:
        await self._client.aclose()

    def _body(self, message: OutgoingMessage) -> dict[str, Any]:
        email = expect(message.content, EmailContent)
        content = [{"type": "text/plain", "value": email.body}]
        if email.html:
            # SendGrid wants text/plain first, then text/html
            content.append({"type": "text/html", "value": email.html})
        body: dict[str, Any] = {
            "personalizations": [{"to": [{"email": message.recipient}]}],
            "from": self._sender,
            "subject": email.subject,
            "content": content,
            "custom_args": {"notification_id": str(message.notification_id)},
        }
        if email.headers:
            body["headers"] = dict(email.headers)
        return body

    def _result(self, response: httpx.Response) -> SendResult:
        status = response.status_code
        if status == 202:
            return SendResult.sent(self.name, response.headers.get("X-Message-Id"))
        error = self._error(response)
        if status in (400, 413):
            return SendResult.permanent(self.name, error)
        if status in (401, 403):
            return SendResult.permanent(self.name, error, provider_fault=True)
        if status == 429:
            return SendResult.retry(self.name, error, self._rate_limit_wait(response))
        # 5xx and anything SendGrid does not document: the provider is unwell
        return SendResult.retry(
            self.name, error, retry_after(response, self._clock()), provider_fault=True
        )

    def _error(self, response: httpx.Response) -> str:
        detail = error_messages(response) or response.reason_phrase.lower()
        text = f"sendgrid: {response.status_code} {detail}".strip()
        return text.replace(self._api_key, "[key]")[:MAX_ERROR_LENGTH]

    def _rate_limit_wait(self, response: httpx.Response) -> float | None:
        try:
            reset = float(response.headers["X-RateLimit-Reset"])
        except (KeyError, ValueError):
            return retry_after(response, self._clock())
        return max(0.0, reset - self._clock())


def sender_object(sender: str) -> dict[str, str]:
    """SendGrid's `from` object for `Name <address>` or a bare address."""
    name, address = parseaddr(sender)
    from_: dict[str, str] = {"email": address or sender.strip()}
    if name:
        from_["name"] = name
    return from_


def error_messages(response: httpx.Response) -> str:
    """The `message` of each entry in SendGrid's `errors` list, joined."""
    try:
        payload = response.json()
    except ValueError:
        return ""
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if not isinstance(errors, list):
        return ""
    return "; ".join(
        str(entry["message"])
        for entry in errors
        if isinstance(entry, dict) and entry.get("message")
    )
