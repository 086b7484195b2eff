"""Stage 2, consent: whether each notification may be sent, and when. The
user's preferences (one read for the batch) and a suppressed address decide,
by the table in `clarion.domain.preferences`; what may not is NOT_SENT with its
reason, neither failed nor dead-lettered. What falls in the user's quiet hours
on an interruptive channel is deferred to their end (SCHEDULED, a DEFERRED
event, the claim's attempt given back); URGENT is never held."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from clarion.domain.content import INTERRUPTIVE
from clarion.domain.enums import (
    Channel,
    EventType,
    NotificationStatus,
    NotificationType,
    Priority,
)
from clarion.domain.pipeline import Claimed, DeliveryOutcome
from clarion.domain.preferences import Preferences, Verdict, decide
from clarion.domain.quiet_hours import quiet_until
from clarion.ports import UnitOfWork

NONE = Preferences()


async def consent(
    uow_factory: Callable[[], UnitOfWork],
    claimed: Sequence[Claimed],
    now: datetime,
    quiet_channels: Collection[Channel] = INTERRUPTIVE,
) -> tuple[list[Claimed], list[DeliveryOutcome]]:
    """(what may be sent now, the outcomes of what may not or not yet)."""

    def holdable(item: Claimed) -> bool:
        record = item.record
        return record.priority is not Priority.URGENT and record.channel in quiet_channels

    asking = {
        c.record.user_id
        for c in claimed
        if c.record.type is not NotificationType.TRANSACTIONAL or holdable(c)
    }
    preferences = {}
    if asking:
        async with uow_factory() as uow:
            preferences = await uow.preferences.of_users(asking)
    allowed, held = [], []
    for item in claimed:
        record = item.record
        chosen = preferences.get(record.user_id, NONE)
        verdict = decide(chosen, record.type, record.channel, item.suppressed)
        if not verdict.send:
            held.append(not_sent(item, verdict))
            continue
        until = quiet_end(chosen, now) if holdable(item) else None
        if until is not None:
            held.append(deferred(item, until, chosen))
        else:
            allowed.append(item)
    return allowed, held


def quiet_end(preferences: Preferences, now: datetime) -> datetime | None:
    if not preferences.quiet_hours or not preferences.timezone:
        return None
    return quiet_until(now, ZoneInfo(preferences.timezone), preferences.quiet_hours)


def not_sent(item: Claimed, verdict: Verdict) -> DeliveryOutcome:
    record = item.record
    return DeliveryOutcome.of(
        record,
        NotificationStatus.NOT_SENT,
        EventType.NOT_SENT,
        error=verdict.reason,
        event_metadata={"attempt": record.attempts, "rule": verdict.rule, "reason": verdict.reason},
    )


def deferred(item: Claimed, until: datetime, preferences: Preferences) -> DeliveryOutcome:
    return DeliveryOutcome.of(
        item.record,
        NotificationStatus.SCHEDULED,
        EventType.DEFERRED,
        deferred_until=until,
        event_metadata={
            "reason": "quiet hours",
            "until": until.isoformat(),
            "timezone": preferences.timezone,
        },
    )
