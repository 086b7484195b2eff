"""A fake Twilio Messages API, served with `serve_in_thread(fake.app)`.

It answers like Twilio: basic auth against one account, form-encoded requests,
201 with a message SID, and Twilio's error JSON. A test can make it answer the
next requests (or every request, until `reset`) with an error code, a 429, 5xx
or a delay. Its methods may be called from the test's thread while it serves.
"""

from __future__ import annotations

import asyncio
import base64
import re
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from clarion.adapters.providers.twilio_signature import twilio_signature

E164 = re.compile(r"^\+[1-9]\d{1,14}$")
ERROR_MESSAGES = {
    20003: "Authenticate",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    21211: "The 'To' number is not a valid phone number.",
    21602: "Message body is required.",
    21603: "A 'From' or 'MessagingServiceSid' parameter is required to send a message.",
    21604: "A 'To' phone number is required.",
    21608: "The number is unverified. Trial accounts may only send messages to verified numbers.",
    21610: "Attempt to send to unsubscribed recipient",
    21612: "The 'To' phone number is not currently reachable using the 'From' phone number.",
    21614: "'To' number is not a valid mobile number",
    21635: "The 'To' number cannot receive messages: it is a landline.",
}


@dataclass(frozen=True)
class ReceivedMessage:
    """A request the fake accepted, and the SID it answered with."""

    sid: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]


@dataclass
class _Fault:
    status: int
    code: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    remaining: int | None = None  # None: until reset


def twilio_error(status: int, code: int, headers: Mapping[str, str] | None = None) -> Response:
    body = {
        "code": code,
        "message": ERROR_MESSAGES.get(code, "Error"),
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


class FakeTwilio:
    def __init__(self, *, account_sid: str, auth_token: str) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self._lock = threading.Lock()
        self._received: list[ReceivedMessage] = []
        self._fault: _Fault | None = None
        self.app = Starlette(
            routes=[
                Route(
                    "/2010-04-01/Accounts/{account_sid}/Messages.json",
                    self._create_message,
                    methods=["POST"],
                )
            ]
        )

    @property
    def received(self) -> list[ReceivedMessage]:
        with self._lock:
            return list(self._received)

    def fail_with(self, code: int, *, status: int = 400, times: int | None = None) -> None:
        """Answer with Twilio error `code` (e.g. 21610) and `status`."""
        self._set(_Fault(status, code, remaining=times))

    def rate_limit(self, *, retry_after: float | None = None, times: int | None = None) -> None:
        """Answer 429 with code 20429, and Retry-After when given."""
        headers = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
        self._set(_Fault(429, 20429, headers, remaining=times))

    def server_errors(self, *, status: int = 503, times: int | None = None) -> None:
        """Answer 5xx with no Twilio error body, as a failing gateway does."""
        self._set(_Fault(status, remaining=times))

    def delay(self, seconds: float, *, times: int | None = None) -> None:
        """Accept the message, but answer only after `seconds`."""
        self._set(_Fault(201, delay=seconds, remaining=times))

    def reset(self) -> None:
        """Answer normally again and forget the messages received."""
        with self._lock:
            self._fault = None
            self._received.clear()

    def _set(self, fault: _Fault) -> None:
        with self._lock:
            self._fault = fault

    def _take_fault(self) -> _Fault | None:
        with self._lock:
            fault = self._fault
            if fault is not None and fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._fault = None
            return fault

    def _authenticated(self, request: Request) -> bool:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        expected = f"{self.account_sid}:{self.auth_token}".encode()
        try:
            return scheme == "Basic" and base64.b64decode(encoded, validate=True) == expected
        except ValueError:
            return False

    async def _create_message(self, request: Request) -> Response:
        if not self._authenticated(request):
            return twilio_error(401, 20003, {"WWW-Authenticate": 'Basic realm="Twilio API"'})
        if request.path_params["account_sid"] != self.account_sid:
            return twilio_error(404, 20404)
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        if not form.get("To"):
            return twilio_error(400, 21604)
        if not form.get("From"):
            return twilio_error(400, 21603)
        if not form.get("Body"):
            return twilio_error(400, 21602)
        if not E164.match(form["To"]):
            return twilio_error(400, 21211)
        fault = self._take_fault()
        if fault is not None and fault.status != 201:
            if fault.code is None:
                return Response("Service Unavailable", status_code=fault.status)
            return twilio_error(fault.status, fault.code, fault.headers)
        message = ReceivedMessage(
            sid="SM" + uuid.uuid4().hex,
            path=request.url.path,
            headers=dict(request.headers),
            form=form,
        )
        with self._lock:
            self._received.append(message)
        if fault is not None:
            await asyncio.sleep(fault.delay)
        return JSONResponse(self._resource(message), status_code=201)

    def _resource(self, message: ReceivedMessage) -> dict[str, Any]:
        return {
            "sid": message.sid,
            "account_sid": self.account_sid,
            "to": message.form["To"],
            "from": message.form["From"],
            "body": message.form["Body"],
            "status": "queued",
            "direction": "outbound-api",
            "num_segments": "1",
            "error_code": None,
            "error_message": None,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{message.sid}.json",
        }

    async def send_status(
        self, message: ReceivedMessage, status: str, *, error_code: int | None = None
    ) -> httpx.Response:
        """POST a status callback for `message` to the StatusCallback it was sent
        with, signed with this account's token, as Twilio does."""
        params = status_params(self.account_sid, message, status, error_code=error_code)
        return await send_status_callback(message.form["StatusCallback"], self.auth_token, params)


def status_params(
    account_sid: str, message: ReceivedMessage, status: str, *, error_code: int | None = None
) -> dict[str, str]:
    """The form Twilio posts to a StatusCallback (ErrorCode only for failures)."""
    params = {
        "AccountSid": account_sid,
        "ApiVersion": "2010-04-01",
        "From": message.form["From"],
        "MessageSid": message.sid,
        "MessageStatus": status,
        "SmsSid": message.sid,
        "SmsStatus": status,
        "To": message.form["To"],
    }
    if error_code is not None:
        params["ErrorCode"] = str(error_code)
    return params


async def send_status_callback(
    url: str,
    auth_token: str,
    params: Mapping[str, str],
    *,
    client: httpx.AsyncClient | None = None,
) -> httpx.Response:
    """POST `params` to `url` with the X-Twilio-Signature Twilio would send.
    `client` lets a test reach an in-process app; `url` must still be absolute,
    since the signature covers it."""
    headers = {"X-Twilio-Signature": twilio_signature(auth_token, url, params)}
    if client is not None:
        return await client.post(url, data=dict(params), headers=headers)
    async with httpx.AsyncClient() as own_client:
        return await own_client.post(url, data=dict(params), headers=headers)
