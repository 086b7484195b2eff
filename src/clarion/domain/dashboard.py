"""What the admin dashboard shows, as read from the database."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class StatusCount:
    status: str
    channel: str
    last_hour: int
    last_day: int


@dataclass(frozen=True)
class DashboardFigures:
    counts: list[StatusCount]  # notifications created in the window, by status and channel
    sent_per_minute: list[tuple[str, int]]  # "YYYY-MM-DDTHH:MM" (UTC) -> SENT events
    top_errors: list[tuple[str, int]]  # failures of the last day, most frequent first
    dead_letters: int  # FAILED, all time
    oldest_waiting: tuple[uuid.UUID, datetime] | None  # the oldest PENDING notification
    lanes: dict[str, dict[str, int]] = field(default_factory=dict)  # see backlog()


@dataclass(frozen=True)
class Waiting:
    """What waits, for the metrics: read at most every few seconds."""

    dead_letters: int  # FAILED, all time
    pending: int  # due now or retrying
    scheduled: int  # for later, or deferred by quiet hours
    oldest_pending: datetime | None  # when the oldest PENDING one was accepted
