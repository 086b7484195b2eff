"""A fake Firebase Cloud Messaging server: the OAuth2 token endpoint and HTTP v1
`messages:send`, over real HTTP.

It checks what Google checks (an RS256 assertion signed by the service account,
a bearer token it issued and that has not expired, the message's shape and
size), records what it receives, and can be told from the test thread to answer
with FCM's documented errors or to stall.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# the audience Google requires in the assertion, wherever the token request goes
# (google-auth sets it whatever the file's token_uri says)
TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"
MAX_PAYLOAD_BYTES = 4096
MESSAGE_FIELDS = {"name", "data", "notification", "android", "webpush", "apns", "fcm_options"}
TARGETS = {"token", "topic", "condition"}


@dataclass(frozen=True)
class ServiceAccount:
    path: Path
    project_id: str
    client_email: str
    private_key_id: str
    token_uri: str
    public_key: rsa.RSAPublicKey


def write_service_account(
    directory: Path, *, token_uri: str, project_id: str = "clarion-test"
) -> ServiceAccount:
    """Write a service-account JSON file with a fresh RSA key, as the Firebase
    console would hand one out."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    account = ServiceAccount(
        path=directory / f"{project_id}-{secrets.token_hex(4)}.json",
        project_id=project_id,
        client_email=f"firebase-adminsdk@{project_id}.iam.gserviceaccount.com",
        private_key_id=secrets.token_hex(20),
        token_uri=token_uri,
        public_key=key.public_key(),
    )
    info = {
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": account.private_key_id,
        "private_key": pem,
        "client_email": account.client_email,
        "client_id": "100000000000000000001",
        "token_uri": token_uri,
    }
    account.path.write_text(json.dumps(info), encoding="utf-8")
    return account


@dataclass(frozen=True)
class Answer:
    """A scripted reply to `messages:send`: an error, a pause, or both."""

    status: int | None = None  # None: answer as the real server would
    error: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def google_error(code: int, status: str, message: str, *details: dict[str, Any]) -> dict[str, Any]:
    return {"code": code, "message": message, "status": status, "details": list(details)}


def _fcm_code(code: str) -> dict[str, Any]:
    return {"@type": FCM_ERROR, "errorCode": code}


def _field_violation(name: str, description: str) -> dict[str, Any]:
    return {"@type": BAD_REQUEST, "fieldViolations": [{"field": name, "description": description}]}


def _retry_header(retry_after: int | str | None) -> dict[str, str]:
    return {} if retry_after is None else {"Retry-After": str(retry_after)}


def unregistered() -> Answer:
    error = google_error(
        404, "NOT_FOUND", "Requested entity was not found.", _fcm_code("UNREGISTERED")
    )
    return Answer(404, error)


def invalid_token() -> Answer:
    """Today's answer for a malformed or foreign registration token."""
    message = "The registration token is not a valid FCM registration token"
    return Answer(
        400, google_error(400, "INVALID_ARGUMENT", message, _fcm_code("INVALID_ARGUMENT"))
    )


def invalid_token_field() -> Answer:
    """The older answer: a generic message, the token named as the bad field."""
    error = google_error(
        400,
        "INVALID_ARGUMENT",
        "Request contains an invalid argument.",
        _fcm_code("INVALID_ARGUMENT"),
        _field_violation("message.token", "Invalid registration token"),
    )
    return Answer(400, error)


def invalid_payload() -> Answer:
    # like FCM, the message quotes the offending value
    message = "Invalid value at 'message.data[0].value' (TYPE_STRING), 42"
    error = google_error(
        400,
        "INVALID_ARGUMENT",
        message,
        _fcm_code("INVALID_ARGUMENT"),
        _field_violation("message.data[0].value", message),
    )
    return Answer(400, error)


def quota_exceeded(retry_after: int | str | None = 60) -> Answer:
    message = "Quota exceeded for quota metric 'Send requests' of service fcm.googleapis.com."
    error = google_error(429, "RESOURCE_EXHAUSTED", message, _fcm_code("QUOTA_EXCEEDED"))
    return Answer(429, error, _retry_header(retry_after))


def internal(retry_after: int | str | None = None) -> Answer:
    error = google_error(500, "INTERNAL", "Internal error encountered.", _fcm_code("INTERNAL"))
    return Answer(500, error, _retry_header(retry_after))


def unavailable(retry_after: int | str | None = None) -> Answer:
    message = "The service is currently unavailable."
    error = google_error(503, "UNAVAILABLE", message, _fcm_code("UNAVAILABLE"))
    return Answer(503, error, _retry_header(retry_after))


def sender_id_mismatch() -> Answer:
    error = google_error(
        403, "PERMISSION_DENIED", "SenderId mismatch", _fcm_code("SENDER_ID_MISMATCH")
    )
    return Answer(403, error)


def third_party_auth_error() -> Answer:
    message = "Auth error from APNS or Web Push Service"
    error = google_error(401, "UNAUTHENTICATED", message, _fcm_code("THIRD_PARTY_AUTH_ERROR"))
    return Answer(401, error)


def slow(seconds: float) -> Answer:
    return Answer(delay=seconds)


@dataclass(frozen=True)
class Received:
    path: str
    authorization: str | None
    body: Any


class FakeFcm:
    """Serve `app` (see `tests.support.fake_server.serve_in_thread`), then `trust`
    the service account written for its token URL."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._account: ServiceAccount | None = None
        self._token_requests = 0
        self._assertions: list[dict[str, Any]] = []
        self._issued: dict[str, float] = {}  # token -> monotonic expiry
        self._token_lifetime = 3600
        self._reject_assertions = False
        self._received: list[Received] = []
        self._names: list[str] = []  # of the messages it accepted
        self._next: deque[Answer] = deque()
        self._always: Answer | None = None
        self._ids = itertools.count(1)
        self.app = Starlette(
            routes=[
                Route("/token", self._token, methods=["POST"]),
                Route("/v1/projects/{project}/messages:send", self._send, methods=["POST"]),
            ]
        )

    # --- told by the test -------------------------------------------------

    def trust(self, account: ServiceAccount) -> None:
        with self._lock:
            self._account = account

    def answer_next(self, answer: Answer, times: int = 1) -> None:
        with self._lock:
            self._next.extend([answer] * times)

    def answer_always(self, answer: Answer) -> None:
        """Until `reset`."""
        with self._lock:
            self._always = answer

    def reject_assertions(self) -> None:
        """The token endpoint answers invalid_grant until `reset`."""
        with self._lock:
            self._reject_assertions = True

    def issue_tokens_for(self, seconds: int) -> None:
        with self._lock:
            self._token_lifetime = seconds

    def revoke_tokens(self) -> None:
        with self._lock:
            self._issued.clear()

    def reset(self) -> None:
        with self._lock:
            self._next.clear()
            self._always = None
            self._reject_assertions = False

    # --- what it saw -------------------------------------------------------

    @property
    def token_requests(self) -> int:
        with self._lock:
            return self._token_requests

    @property
    def assertions(self) -> list[dict[str, Any]]:
        """The verified claims of every assertion that earned a token."""
        with self._lock:
            return list(self._assertions)

    @property
    def issued(self) -> list[str]:
        with self._lock:
            return list(self._issued)

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    @property
    def names(self) -> list[str]:
        """The `name` of every message it accepted, in order."""
        with self._lock:
            return list(self._names)

    # --- the endpoints -----------------------------------------------------

    async def _token(self, request: Request) -> JSONResponse:
        form = parse_qs((await request.body()).decode())
        with self._lock:
            self._token_requests += 1
            account, rejecting, lifetime = (
                self._account,
                self._reject_assertions,
                self._token_lifetime,
            )
        if form.get("grant_type") != [JWT_GRANT]:
            return _oauth_error("unsupported_grant_type", "Invalid grant_type")
        assertion = form.get("assertion", [""])[0]
        if account is None or rejecting:
            return _oauth_error("invalid_grant", "Invalid JWT Signature.")
        try:
            claims = jwt.decode(
                assertion,
                account.public_key,
                algorithms=["RS256"],
                audience=TOKEN_AUDIENCE,
                issuer=account.client_email,
                options={"require": ["iss", "aud", "iat", "exp"]},
            )
            kid = jwt.get_unverified_header(assertion).get("kid")
        except jwt.InvalidTokenError:
            return _oauth_error("invalid_grant", "Invalid JWT Signature.")
        if kid != account.private_key_id:
            return _oauth_error("invalid_grant", "Invalid JWT Signature.")
        if SCOPE not in str(claims.get("scope", "")).split():
            return _oauth_error("invalid_scope", "Invalid OAuth scope or ID token audience.")
        token = f"ya29.fake-{secrets.token_urlsafe(32)}"
        with self._lock:
            self._issued[token] = time.monotonic() + lifetime
            self._assertions.append(claims)
        return JSONResponse({"access_token": token, "expires_in": lifetime, "token_type": "Bearer"})

    async def _send(self, request: Request) -> JSONResponse:
        project = request.path_params["project"]
        authorization = request.headers.get("authorization")
        try:
            body = json.loads(await request.body())
        except ValueError:
            body = None
        token = (authorization or "").removeprefix("Bearer ")
        with self._lock:
            self._received.append(Received(request.url.path, authorization, body))
            authorized = self._issued.get(token, 0.0) > time.monotonic()
            account = self._account
            answer = (self._next.popleft() if self._next else self._always) if authorized else None
        if not authorized:
            message = (
                "Request had invalid authentication credentials. Expected OAuth 2 access "
                "token, login cookie or other valid authentication credential."
            )
            return _error(google_error(401, "UNAUTHENTICATED", message))
        if answer is not None and answer.delay:
            await asyncio.sleep(answer.delay)
        if account is None or project != account.project_id:
            message = f"Permission 'cloudmessaging.messages.create' denied on resource '{project}'"
            return _error(google_error(403, "PERMISSION_DENIED", message))
        if answer is not None and answer.error is not None:
            return _error(answer.error, answer.headers)
        problem = _invalid_message(body)
        if problem is not None:
            name, description = problem
            details = [_fcm_code("INVALID_ARGUMENT")]
            if name:
                details.append(_field_violation(name, description))
            return _error(google_error(400, "INVALID_ARGUMENT", description, *details))
        name = f"projects/{project}/messages/0:{next(self._ids)}%{secrets.token_hex(8)}"
        with self._lock:
            self._names.append(name)
        return JSONResponse({"name": name})


def _oauth_error(error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=400)


def _error(error: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": error}, status_code=error["code"], headers=headers)


def _invalid_message(body: Any) -> tuple[str, str] | None:
    """What FCM would reject in a send request: (field, description); field is
    empty when FCM does not name one."""
    message = body.get("message") if isinstance(body, dict) else None
    if not isinstance(message, dict):
        return "message", "Invalid JSON payload received."
    unknown = sorted(message.keys() - MESSAGE_FIELDS - TARGETS)
    if unknown:
        return (
            f"message.{unknown[0]}",
            f'Invalid JSON payload received. Unknown name "{unknown[0]}"',
        )
    if len(message.keys() & TARGETS) != 1:
        return "message", "Exactly one of token, topic or condition must be set."
    if "token" in message and not (isinstance(message["token"], str) and message["token"]):
        return "message.token", "Invalid registration token"
    notification = message.get("notification", {})
    if not isinstance(notification, dict) or not all(
        key in {"title", "body", "image"} and isinstance(value, str)
        for key, value in notification.items()
    ):
        return "message.notification", "Invalid value at 'message.notification'"
    data = message.get("data", {})
    if not isinstance(data, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in data.items()
    ):
        return "message.data", "Invalid value at 'message.data' (map<string, string>)"
    size = len(json.dumps({"notification": notification, "data": data}).encode())
    if size > MAX_PAYLOAD_BYTES:
        return "", "Message is too big"
    return None
