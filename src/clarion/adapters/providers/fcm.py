"""The push provider: Firebase Cloud Messaging HTTP v1.

FCM's answers map to outcomes as the provider reference describes: 200 is sent;
404 UNREGISTERED, and a 400 that names the registration token, fail for good and
forget the token; any other 400 is the message's own fault; 429 waits for
`Retry-After`; 401/403, 5xx, timeouts and a failed token refresh are the
provider's fault. Errors carry FCM's codes only: its messages can quote content.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from google.auth.exceptions import GoogleAuthError

from clarion.adapters.providers.fcm_auth import AccessTokens
from clarion.adapters.providers.http_retry import retry_after
from clarion.domain.content import PushContent, expect
from clarion.domain.delivery import OutgoingMessage, SendResult
from clarion.observability.logging import get_logger

log = get_logger(__name__)

FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"
# FCM asks for 60 s when a 429 comes without Retry-After
QUOTA_WAIT = 60.0


class FcmProvider:
    name = "fcm"

    def __init__(self, *, credentials_file: str, base_url: str, timeout: float = 30.0) -> None:
        info = json.loads(Path(credentials_file).read_text(encoding="utf-8"))
        project_id = info["project_id"]
        self._url = f"{base_url.rstrip('/')}/v1/projects/{project_id}/messages:send"
        self._tokens = AccessTokens(info, timeout=timeout)
        self._client = httpx.AsyncClient(http2=True, timeout=timeout)

    async def send(self, message: OutgoingMessage) -> SendResult:
        try:
            token = await self._tokens.get()
        except GoogleAuthError as exc:
            # the token endpoint's own words (e.g. "invalid_grant: ..."), never a secret
            reason = str(exc.args[0])[:200] if exc.args else type(exc).__name__
            log.warning("delivery.provider.token_refresh_failed", provider=self.name, reason=reason)
            return SendResult.retry(
                self.name, f"fcm: access token refresh failed: {reason}", provider_fault=True
            )
        try:
            response = await self._client.post(
                self._url, json=request_body(message), headers={"Authorization": f"Bearer {token}"}
            )
        except httpx.TimeoutException:
            return SendResult.retry(self.name, "fcm: timed out", provider_fault=True)
        except httpx.HTTPError as exc:
            return SendResult.retry(self.name, f"fcm: {type(exc).__name__}", provider_fault=True)
        if response.status_code == 401:
            self._tokens.forget(token)
        return self._result(response)

    async def close(self) -> None:
        await self._client.aclose()
        self._tokens.close()

    def _result(self, response: httpx.Response) -> SendResult:
        status = response.status_code
        if status == 200:
            return SendResult.sent(self.name, _message_name(response))
        error = FcmError.read(response)
        reason = error.describe()
        if status == 404 and error.code == "UNREGISTERED":
            return SendResult.permanent(self.name, reason, forget_recipient=True)
        if status == 400:
            return SendResult.permanent(self.name, reason, forget_recipient=error.about_token)
        if status == 429:
            wait = retry_after(response)
            return SendResult.retry(self.name, reason, QUOTA_WAIT if wait is None else wait)
        if status >= 500:
            return SendResult.retry(self.name, reason, retry_after(response), provider_fault=True)
        if error.code == "SENDER_ID_MISMATCH":
            # this token belongs to another project; kept, since a wrongly configured
            # project would otherwise delete every user's token
            return SendResult.permanent(self.name, reason)
        if status == 401 and error.code != "THIRD_PARTY_AUTH_ERROR":
            # our access token expired or was revoked: it was dropped, a retry gets a new one
            return SendResult.retry(self.name, reason, provider_fault=True)
        # credentials or project access; a 404 without UNREGISTERED is a wrong URL or
        # project, which no token deserves to be forgotten for
        return SendResult.permanent(self.name, reason, provider_fault=True)


def request_body(message: OutgoingMessage) -> dict[str, Any]:
    content = expect(message.content, PushContent)
    data = {
        str(key): value if isinstance(value, str) else json.dumps(value)
        for key, value in (content.data or {}).items()
    }
    data["notification_id"] = str(message.notification_id)
    body: dict[str, Any] = {"token": message.recipient, "data": data}
    body["notification"] = {"title": content.title, "body": content.body}
    return {"message": body}


@dataclass(frozen=True)
class FcmError:
    """The parts of Google's error body the outcome depends on."""

    http_status: int
    status: str  # e.g. NOT_FOUND; empty when the body is not Google's
    code: str  # the FcmError errorCode, e.g. UNREGISTERED
    about_token: bool  # the registration token is what was invalid

    @classmethod
    def read(cls, response: httpx.Response) -> FcmError:
        try:
            body = response.json()
        except ValueError:
            body = None
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            return cls(response.status_code, "", "", about_token=False)
        details = [d for d in error.get("details") or () if isinstance(d, dict)]
        code = next(
            (str(d.get("errorCode", "")) for d in details if d.get("@type") == FCM_ERROR), ""
        )
        message = str(error.get("message", ""))
        return cls(
            response.status_code,
            str(error.get("status", "")),
            code,
            about_token=_names_token(message, details),
        )

    def describe(self) -> str:
        parts = [str(self.http_status), self.status, self.code]
        if self.about_token:
            parts.append("registration token rejected")
        return "fcm: " + " ".join(part for part in parts if part)


def _names_token(message: str, details: list[dict[str, Any]]) -> bool:
    """FCM says so in the message today; older answers named the field instead."""
    if "registration token" in message.lower():
        return True
    return any(
        isinstance(violation, dict) and violation.get("field") == "message.token"
        for detail in details
        if detail.get("@type") == BAD_REQUEST
        for violation in detail.get("fieldViolations") or ()
    )


def _message_name(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    name = body.get("name") if isinstance(body, dict) else None
    return name if isinstance(name, str) else None
