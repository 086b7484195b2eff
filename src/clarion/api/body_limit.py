"""Refuse request bodies over the configured size with 413 in the error shape.

A declared Content-Length over the limit is refused before reading; a body
that streams past the limit stops being read at the limit.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clarion.api.errors import error_response


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def message(self) -> str:
        return f"The request body is larger than {self.max_bytes} bytes."

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
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
