"""Refuse what no endpoint can take, before any of them runs, in the error shape.

- A request body over the configured size: 413. A declared Content-Length over
  the limit is refused before reading; a body that streams past the limit stops
  being read at the limit.
- A NUL character (U+0000) in the path or the query string: 422. PostgreSQL
  cannot store or compare text holding one, so a search or an address that
  carried it reached the database as a 500. Bodies are checked by their models
  (api/schemas.py).
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clarion.api.errors import error_response

NUL_IN_URL = "The path and the query must not contain the NUL character (U+0000)."


class RequestLimits:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def message(self) -> str:
        return f"The request body is larger than {self.max_bytes} bytes."

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if b"%00" in scope["query_string"] or "\x00" in scope["path"]:
            response = error_response(422, "validation_error", NUL_IN_URL)
            await response(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                response = error_response(400, "bad_request", "Content-Length is not a number.")
                await response(scope, receive, send)
                return
            if int(declared) > self.max_bytes:
                response = error_response(413, "payload_too_large", self.message())
                await response(scope, receive, send)
                return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # FastAPI re-raises an HTTPException from the body read, so the
                    # app's own handler answers it in the error shape.
                    raise HTTPException(413, self.message())
            return message

        await self.app(scope, limited_receive, send)
