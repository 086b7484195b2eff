"""The admin dashboard: the database's figures with this process's queue,
circuits and cache, cached as `metrics:dashboard` for 30 s (the seed's key)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from clarion.domain.dashboard import DashboardFigures, StatusCount
from clarion.domain.enums import Channel
from clarion.ports import Cache, UnitOfWork
from clarion.services.channels import ChannelRoute

DASHBOARD_KEY = "metrics:dashboard"
DASHBOARD_TTL = 30.0


async def dashboard(
    uow: UnitOfWork,
    cache: Cache,
    now: datetime,
    *,
    local: Mapping[str, Any],
) -> dict[str, Any]:
    """`local`: what only this process knows (its in-process queue, its
    providers' circuits, its cache counters), added as read now."""
    cached = await cache.get(DASHBOARD_KEY)
    if cached is not None:
        shared: dict[str, Any] = json.loads(cached)
    else:
        shared = shared_view(await uow.dashboard.figures(now), now)
        await cache.fill(DASHBOARD_KEY, json.dumps(shared).encode(), DASHBOARD_TTL)
    return {**shared, **local}


def shared_view(figures: DashboardFigures, now: datetime) -> dict[str, Any]:
    oldest = figures.oldest_waiting
    return {
        "generatedAt": now.isoformat(),
        "lastHour": window(figures.counts, hour=True),
        "lastDay": window(figures.counts, hour=False),
        "byStatusAndChannel": [
            {
                "status": c.status,
                "channel": c.channel,
                "lastHour": c.last_hour,
                "lastDay": c.last_day,
            }
            for c in figures.counts
        ],
        "sentPerMinute": [{"minute": m, "count": n} for m, n in figures.sent_per_minute],
        "topErrors": [{"reason": r, "count": n} for r, n in figures.top_errors],
        "deadLetters": figures.dead_letters,
        "oldestWaiting": None
        if oldest is None
        else {
            "id": str(oldest[0]),
            "createdAt": oldest[1].isoformat(),
            "ageSeconds": round((now - oldest[1]).total_seconds(), 1),
        },
        "lanes": figures.lanes,
    }


def window(counts: list[StatusCount], *, hour: bool) -> dict[str, Any]:
    """Totals of one window by status and by channel, and its failure rate:
    FAILED among the notifications that finished (SENT, FAILED, NOT_SENT)."""
    by_status: dict[str, int] = {}
    by_channel: dict[str, int] = {}
    for c in counts:
        n = c.last_hour if hour else c.last_day
        by_status[c.status] = by_status.get(c.status, 0) + n
        by_channel[c.channel] = by_channel.get(c.channel, 0) + n
    finished = sum(by_status.get(s, 0) for s in ("SENT", "FAILED", "NOT_SENT"))
    return {
        "total": sum(by_status.values()),
        "byStatus": by_status,
        "byChannel": by_channel,
        "failureRate": round(by_status.get("FAILED", 0) / finished, 4) if finished else 0.0,
    }


def circuit_states(routes: Mapping[Channel, ChannelRoute]) -> list[dict[str, str]]:
    """Each provider's circuit in this process (`none`: a provider without one)."""
    return [
        {
            "channel": channel.value,
            "provider": guarded.name,
            "state": guarded.breaker.state.value if guarded.breaker else "none",
        }
        for channel, route in routes.items()
        for guarded in route.chain
    ]
