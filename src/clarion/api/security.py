"""Security headers on every response, and CORS from the allow-list in settings."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import Receive, Scope, Send

from clarion.api.middleware import Headers, HttpMiddleware, adding_headers
from clarion.config import Settings

API_POLICY = "default-src 'none'; frame-ancestors 'none'"
# The docs pages run Swagger UI / ReDoc from our own origin; their bootstrap
# script is inline and ReDoc starts a worker from a blob.
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")
# The console: its own scripts and styles only, no inline code, no other host.
CONSOLE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


class SecurityHeaders(HttpMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        referrer = b"no-referrer"
        if path.startswith("/console"):
            policy = CONSOLE_POLICY
            # with no-referrer, a browser's form post says `Origin: null`; the
            # console's CSRF check wants the real origin of its own forms
            referrer = b"same-origin"
        elif path.startswith(DOCS_PATHS):
            policy = DOCS_POLICY
        else:
            policy = API_POLICY
        https = scope.get("scheme") == "https"

        def security_headers(_present: Headers) -> Headers:
            headers = [
                (b"content-security-policy", policy.encode()),
                (b"x-content-type-options", b"nosniff"),
                (b"x-frame-options", b"DENY"),
                (b"referrer-policy", referrer),
            ]
            if https:
                headers.append((b"strict-transport-security", b"max-age=31536000"))
            return headers

        await self.app(scope, receive, adding_headers(send, security_headers))


def install_security(app: FastAPI, settings: Settings) -> None:
    origins = settings.cors_origin_list
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-API-Key"],
            expose_headers=["RateLimit", "RateLimit-Policy", "Retry-After"],
            max_age=600,
        )
    app.add_middleware(SecurityHeaders)
