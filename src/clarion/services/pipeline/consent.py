"""Stage 2, consent: whether each notification may be sent at all. The user's
preferences (one read for the batch) and a suppressed address decide, by the
table in `clarion.domain.preferences`; what may not is NOT_SENT with its
reason, neither failed nor dead-lettered."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from clarion.domain.enums import EventType, NotificationStatus, NotificationType
from clarion.domain.pipeline import Claimed, DeliveryOutcome
from clarion.domain.preferences import Preferences, Verdict, decide
from clarion.ports import UnitOfWork

NONE = Preferences()


async def consent(
    uow_factory: Callable[[], UnitOfWork], claimed: Sequence[Claimed]
) -> tuple[list[Claimed], list[DeliveryOutcome]]:
    """(what may be sent, the outcomes of what may not)."""
    asking = {
        c.record.user_id for c in claimed if c.record.type is not NotificationType.TRANSACTIONAL
    }
    preferences = {}
    if asking:
        async with uow_factory() as uow:
            preferences = await uow.preferences.of_users(asking)
    allowed, refused = [], []
    for item in claimed:
        record = item.record
        verdict = decide(
            preferences.get(record.user_id, NONE),
            record.type,
            record.channel,
            item.suppressed,
        )
        if verdict.send:
            allowed.append(item)
        else:
            refused.append(not_sent(item, verdict))
    return allowed, refused


def not_sent(item: Claimed, verdict: Verdict) -> DeliveryOutcome:
    record = item.record
    return DeliveryOutcome(
        notification_id=record.id,
        user_id=record.user_id,
        channel=record.channel,
        status=NotificationStatus.NOT_SENT,
        event=EventType.NOT_SENT,
        error=verdict.reason,
        event_metadata={"attempt": record.attempts, "rule": verdict.rule, "reason": verdict.reason},
    )
