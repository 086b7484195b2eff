"""Report the caller's remaining budget on every limited response.

The limit is checked in a request dependency, but handlers that build their
own response (cached pages, idempotent replays) never see the dependency's
`Response`; the headers travel in the request's state and are added here."""

from __future__ import annotations

from dataclasses import replace

from fastapi import Request
from starlette.types import Receive, Scope, Send

from clarion.api.middleware import Headers, HttpMiddleware, adding_headers
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


class RateLimitHeaders(HttpMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        def budget_headers(present: Headers) -> Headers:
            decision: RateDecision | None = scope.get("state", {}).get(STATE_KEY)
            if decision is None:
                return []
            # a refusal (429) already carries its own
            names = {name.lower() for name, _ in present}
            return [
                (name.lower().encode(), value.encode())
                for name, value in decision.headers().items()
                if name.lower().encode() not in names
            ]

        await self.app(scope, receive, adding_headers(send, budget_headers))
