"""OAuth2 access tokens for FCM, from a Google service account.

google-auth signs the assertion and reads the token endpoint's answer. It talks
HTTP through a small adapter over a synchronous httpx client, so a refresh
blocks and runs in a worker thread; sends reuse the cached token until it is
about to expire.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
from google.auth import exceptions, transport
from google.oauth2 import service_account

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
# refresh this long before the token runs out, so no send carries one that
# expires on the way
EXPIRY_MARGIN = 300.0


class HttpxResponse(transport.Response):
    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    @property
    def status(self) -> int:
        return self._response.status_code

    @property
    def headers(self) -> Mapping[str, str]:
        return self._response.headers

    @property
    def data(self) -> bytes:
        return self._response.content


class HttpxRequest(transport.Request):
    """google-auth's HTTP interface over a synchronous httpx client."""

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> HttpxResponse:
        try:
            response = self._client.request(
                method,
                url,
                content=body,
                headers=headers,
                timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
            )
        except httpx.HTTPError as exc:
            raise exceptions.TransportError(  # type: ignore[no-untyped-call]
                f"token endpoint unreachable: {type(exc).__name__}"
            ) from exc
        return HttpxResponse(response)


class AccessTokens:
    """One cached access token for a service account.

    `get` refreshes it when it is missing or expiring; concurrent sends wait for
    a single refresh. `forget` drops a token FCM rejected, so the next send
    fetches a new one. A failed refresh raises `google.auth.exceptions.GoogleAuthError`.
    """

    def __init__(self, info: Mapping[str, Any], *, timeout: float) -> None:
        self._credentials = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
            info, scopes=[SCOPE]
        )
        self._client = httpx.Client(timeout=timeout)
        self._request = HttpxRequest(self._client)
        self._lock = asyncio.Lock()
        # a refresh abandoned by a cancelled send may still be running in its thread
        self._refreshing = threading.Lock()
        self._token: str | None = None
        self._refresh_at = 0.0  # time.monotonic()

    async def get(self) -> str:
        async with self._lock:
            if self._token is not None and time.monotonic() < self._refresh_at:
                return self._token
            token, lifetime = await asyncio.to_thread(self._refresh)
            self._token = token
            self._refresh_at = time.monotonic() + max(lifetime - EXPIRY_MARGIN, lifetime / 2)
            return token

    def forget(self, token: str) -> None:
        if self._token == token:
            self._token = None

    def close(self) -> None:
        self._client.close()

    def _refresh(self) -> tuple[str, float]:
        """Fetch a token; returns it with its lifetime in seconds."""
        with self._refreshing:
            self._credentials.refresh(self._request)
            token = self._credentials.token
            expiry = self._credentials.expiry
        if not isinstance(token, str) or not token:
            raise exceptions.RefreshError(  # type: ignore[no-untyped-call]
                "the token endpoint returned no access token"
            )
        if expiry is None:
            return token, math.inf
        # google-auth keeps expiry as a naive UTC datetime
        now = datetime.now(UTC).replace(tzinfo=None)
        return token, (expiry - now).total_seconds()
