"""The Twilio SMS provider: one form-encoded POST to the Messages API per message.

Twilio's answer becomes an outcome as the provider notes describe: 201 is sent;
429 (code 20429) is retried after its Retry-After; a 400 is permanent, and code
21610 (the recipient texted STOP) also suppresses the number; 401/403, 5xx and
timeouts are the provider's fault, not the message's.
"""

from __future__ import annotations

from typing import Any

import httpx

from clarion.adapters.providers.http_retry import retry_after
from clarion.domain.content import SmsContent, expect
from clarion.domain.delivery import OutgoingMessage, SendResult
from clarion.observability.logging import get_logger

log = get_logger(__name__)

RATE_LIMITED = 20429
UNSUBSCRIBED = 21610
REASONS = {
    20003: "authentication failed",
    20429: "rate limited",
    21211: "invalid To number",
    21602: "empty body",
    21608: "unverified number on a trial account",
    21610: "unsubscribed recipient",
    21612: "unroutable To number",
    21614: "not a mobile number",
    21635: "landline number",
}


class TwilioProvider:
    name = "twilio"

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        sender: str,
        base_url: str,
        status_callback: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        self._sender = sender
        self._status_callback = status_callback
        self._url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self._client = httpx.AsyncClient(
            auth=httpx.BasicAuth(account_sid, auth_token), timeout=timeout
        )

    async def send(self, message: OutgoingMessage) -> SendResult:
        form = {
            "To": message.recipient,
            "From": self._sender,
            "Body": expect(message.content, SmsContent).body,
        }
        if self._status_callback:
            form["StatusCallback"] = self._status_callback
        try:
            response = await self._client.post(self._url, data=form)
        except httpx.TimeoutException:
            log.warning("delivery.provider.timed_out", provider=self.name)
            return SendResult.retry(self.name, "twilio: timed out", provider_fault=True)
        except httpx.TransportError as exc:
            log.warning(
                "delivery.provider.unreachable", provider=self.name, error=type(exc).__name__
            )
            return SendResult.retry(self.name, f"twilio: {type(exc).__name__}", provider_fault=True)
        return self._result(response)

    async def close(self) -> None:
        await self._client.aclose()

    def _result(self, response: httpx.Response) -> SendResult:
        status = response.status_code
        body = _json(response)
        if response.is_success:
            sid = body.get("sid")
            return SendResult.sent(self.name, str(sid) if sid else None)
        code = body.get("code") if isinstance(body.get("code"), int) else None
        error = _describe(code, status)
        if status == 429 or code == RATE_LIMITED:
            delay = retry_after(response)
            log.info("delivery.provider.rate_limited", provider=self.name, retry_after=delay)
            return SendResult.retry(self.name, error, retry_after=delay)
        if status >= 500:
            log.warning("delivery.provider.failing", provider=self.name, status=status)
            return SendResult.retry(self.name, error, retry_after(response), provider_fault=True)
        if status in (401, 403):
            log.error("delivery.provider.rejected_credentials", provider=self.name, code=code)
            return SendResult.permanent(self.name, error, provider_fault=True)
        # a 400 is about this message; another 4xx (a wrong account SID: 404) is ours
        return SendResult.permanent(
            self.name, error, provider_fault=status != 400, forget_recipient=code == UNSUBSCRIBED
        )


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _describe(code: int | None, status: int) -> str:
    """A short error for the notification's history: Twilio's code and what it
    means, never Twilio's own message (it may quote the number or the body)."""
    if code is None:
        return f"twilio: HTTP {status}"
    return f"twilio: {code} {REASONS.get(code, f'rejected (HTTP {status})')}"
