"""Report the caller's remaining budget on every limited response.

The limit is checked in a request dependency, but handlers that build their
own response (cached pages, idempotent replays) never see the dependency's
`Response`; the headers travel in the request's state and are added here."""

from __future__ import annotations

from dataclasses import replace

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clarion.domain.ratelimit import RateDecision

STATE_KEY = "rate_decision"


def report_budget(request: Request, decision: RateDecision) -> None:
    """Remember a limit decision for this request's response. A request charged
    against two budgets (requests, then notifications) reports both policies
    and the tier closest to running out."""
    earlier: RateDecision | None = getattr(request.state, STATE_KEY, None)
    if earlier is not None:
        decision = replace(
            decision,
            allowed=earlier.allowed and decision.allowed,
            tiers=earlier.tiers + decision.tiers,
        )
    setattr(request.state, STATE_KEY, decision)


class RateLimitHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_budget(message: Message) -> None:
            if message["type"] == "http.response.start":
                decision: RateDecision | None = scope.get("state", {}).get(STATE_KEY)
                reported = decision.headers() if decision is not None else {}
                if reported:
                    headers = list(message.get("headers", []))
                    present = {name.lower() for name, _ in headers}
                    headers += [
                        (name.lower().encode(), value.encode())
                        for name, value in reported.items()
                        if name.lower().encode() not in present
                    ]
                    message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_budget)
