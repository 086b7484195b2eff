"""A fake SendGrid Mail Send v3 server for the provider's tests.

It checks the bearer key and the request's shape the way SendGrid does, records
what it accepts, and can be told from the test's thread to misbehave: answer
with an error status, rate-limit, or stall for longer than the client waits.
Serve `fake.app` with `tests.support.fake_server.serve_in_thread`.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
BAD_KEY = "The provided authorization grant is invalid, expired, or revoked"
DEFAULT_MESSAGES = {
    400: "Bad Request",
    401: BAD_KEY,
    403: "The from address does not match a verified Sender Identity.",
    413: "Payload Too Large",
    429: "too many requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


@dataclass(frozen=True)
class Accepted:
    """A request the fake accepted: its headers (lower-case names) and JSON body."""

    headers: dict[str, str]
    body: dict[str, Any]
    message_id: str


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    stall: float = 0.0  # wait this long, then answer as SendGrid normally would


def errors_body(message: str, field_name: str | None = None) -> dict[str, Any]:
    return {"errors": [{"message": message, "field": field_name, "help": None}]}


class FakeSendGrid:
    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.app = Starlette(routes=[Route("/v3/mail/send", self._mail_send, methods=["POST"])])
        self._lock = threading.Lock()
        self._accepted: list[Accepted] = []
        self._received = 0
        self._reply: Reply | None = None
        self._remaining: int | None = None

    # Scripting, from the test's thread. `times=None`: until `behave()`.

    def answer(
        self,
        status: int,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        times: int | None = 1,
    ) -> None:
        if body is None:
            body = errors_body(DEFAULT_MESSAGES.get(status, "error"))
        self._script(Reply(status, body, headers or {}), times)

    def rate_limit(self, *, reset: int, limit: int = 600, times: int | None = 1) -> None:
        headers = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(reset),
        }
        self.answer(429, headers=headers, times=times)

    def stall(self, seconds: float, *, times: int | None = 1) -> None:
        self._script(Reply(202, stall=seconds), times)

    def behave(self) -> None:
        self._script(None, None)

    @property
    def accepted(self) -> list[Accepted]:
        with self._lock:
            return list(self._accepted)

    @property
    def received(self) -> int:
        """Every request that reached the fake, accepted or not."""
        with self._lock:
            return self._received

    def _script(self, reply: Reply | None, times: int | None) -> None:
        with self._lock:
            self._reply, self._remaining = reply, times

    def _take_reply(self) -> Reply | None:
        with self._lock:
            self._received += 1
            reply = self._reply
            if reply is not None and self._remaining is not None:
                self._remaining -= 1
                if self._remaining <= 0:
                    self._reply, self._remaining = None, None
            return reply

    async def _mail_send(self, request: Request) -> Response:
        reply = self._take_reply()
        if reply is not None and not reply.stall:
            return JSONResponse(reply.body, reply.status, headers=reply.headers)
        if reply is not None:
            await asyncio.sleep(reply.stall)
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return JSONResponse(errors_body(BAD_KEY), 401)
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse(errors_body("Bad Request"), 400)
        problems = validate(body)
        if problems:
            return JSONResponse({"errors": problems}, 400)
        message_id = secrets.token_urlsafe(16)
        with self._lock:
            self._accepted.append(Accepted(dict(request.headers), body, message_id))
        return Response(status_code=202, headers={"X-Message-Id": message_id})


def validate(body: Any) -> list[dict[str, Any]]:
    """SendGrid's 400 `errors` entries for a Mail Send body, empty when valid."""
    if not isinstance(body, dict):
        return [{"message": "Bad Request", "field": None, "help": None}]
    problems = [
        *_personalization_errors(body.get("personalizations")),
        *_from_errors(body.get("from")),
        *_content_errors(body.get("content")),
    ]
    personalizations = body.get("personalizations") or []
    subject_everywhere = all(isinstance(p, dict) and p.get("subject") for p in personalizations)
    if not body.get("subject") and not (personalizations and subject_everywhere):
        problems.append(_problem("The subject is required.", "subject"))
    custom_args = body.get("custom_args", {})
    if not isinstance(custom_args, dict) or not all(
        isinstance(v, str) for v in custom_args.values()
    ):
        problems.append(_problem("The custom_args values must all be strings.", "custom_args"))
    return problems


def _problem(message: str, field_name: str) -> dict[str, Any]:
    return {"message": message, "field": field_name, "help": None}


def _personalization_errors(personalizations: Any) -> list[dict[str, Any]]:
    if not isinstance(personalizations, list) or not personalizations:
        return [_problem("You must have at least one personalization.", "personalizations")]
    problems = []
    for i, personalization in enumerate(personalizations):
        to = personalization.get("to") if isinstance(personalization, dict) else None
        if not isinstance(to, list) or not to:
            message = "The to array is required for all personalization objects."
            problems.append(_problem(message, f"personalizations.{i}.to"))
            continue
        for j, recipient in enumerate(to):
            email = recipient.get("email") if isinstance(recipient, dict) else None
            if not isinstance(email, str) or not ADDRESS.match(email):
                field_name = f"personalizations.{i}.to.{j}.email"
                problems.append(_problem("Does not contain a valid address.", field_name))
    return problems


def _from_errors(sender: Any) -> list[dict[str, Any]]:
    email = sender.get("email") if isinstance(sender, dict) else None
    if email is None:
        return [_problem("The from object must be provided for every email send.", "from")]
    if not isinstance(email, str) or not ADDRESS.match(email):
        return [_problem("The from email does not contain a valid address.", "from.email")]
    return []


def _content_errors(content: Any) -> list[dict[str, Any]]:
    if not isinstance(content, list) or not content:
        return [_problem("The content parameter is required.", "content")]
    problems = []
    for i, block in enumerate(content):
        value = block.get("value") if isinstance(block, dict) else None
        if not isinstance(value, str) or not value:
            message = "The content value must be a string at least one character in length."
            problems.append(_problem(message, f"content.{i}.value"))
    types = [block.get("type") for block in content if isinstance(block, dict)]
    if "text/plain" in types and types[0] != "text/plain":
        message = "If present, text/plain content must be first, followed by text/html."
        problems.append(_problem(message, "content.0.type"))
    return problems
