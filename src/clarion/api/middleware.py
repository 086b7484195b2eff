"""What the API's own ASGI middlewares share: they act on HTTP requests only,
and some add headers to the response as it starts."""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

Headers = list[tuple[bytes, bytes]]


class HttpMiddleware:
    """Passes anything but HTTP (lifespan, websockets) straight through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


def adding_headers(send: Send, extra: Callable[[Headers], Headers]) -> Send:
    """`send`, with `extra(headers already set)` appended when the response starts."""

    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            message["headers"] = headers + extra(headers)
        await send(message)

    return send_with_headers
