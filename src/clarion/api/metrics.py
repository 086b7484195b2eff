"""`GET /metrics` for Prometheus (api/observe.py counts the requests)."""

from __future__ import annotations

import hmac
import time

from fastapi import APIRouter, Request
from fastapi.responses import Response

from clarion.bootstrap import Container
from clarion.domain.errors import NotFound, Unauthorized
from clarion.domain.time import utcnow
from clarion.observability import metrics
from clarion.observability.logging import get_logger

log = get_logger(__name__)
router = APIRouter(tags=["health"])
REFRESH_SECONDS = 10.0  # the database's waiting counts, at most this often


class WaitingGauges:
    """Dead letters, backlog and the oldest PENDING notification, read from the
    database when a scrape finds them older than `REFRESH_SECONDS`."""

    def __init__(self) -> None:
        self._read_at = 0.0

    async def refresh(self, container: Container) -> None:
        if time.monotonic() - self._read_at < REFRESH_SECONDS:
            return
        self._read_at = time.monotonic()
        try:
            async with container.reading() as uow:
                waiting = await uow.dashboard.waiting()
        except Exception as exc:  # the rest of the metrics still answer
            log.warning("metrics.waiting.failed", error=type(exc).__name__)
            return
        oldest = waiting.oldest_pending
        metrics.set_waiting(
            waiting.dead_letters,
            {"PENDING": waiting.pending, "SCHEDULED": waiting.scheduled},
            (utcnow() - oldest).total_seconds() if oldest else 0.0,
        )


WAITING = WaitingGauges()


def allowed(request: Request, container: Container) -> bool:
    token = container.settings.metrics_token
    if token is None:
        return True
    given = request.headers.get("authorization", "")
    expected = f"Bearer {token.get_secret_value()}"
    return hmac.compare_digest(given.encode(), expected.encode())


@router.get(
    "/metrics",
    summary="Prometheus metrics (text exposition format)",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "The exposition."}},
)
async def prometheus_metrics(request: Request) -> Response:
    """Open unless `CLARION_METRICS_TOKEN` is set; 404 when
    `CLARION_METRICS_ENABLED=false`. No label carries a user, an address or a
    notification id."""
    container: Container = request.app.state.container
    if not container.settings.metrics_enabled:
        raise NotFound("Metrics are turned off here.")
    if not allowed(request, container):
        raise Unauthorized("A metrics token is needed.")
    await WAITING.refresh(container)
    return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE)
