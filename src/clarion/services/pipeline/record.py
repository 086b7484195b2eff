"""Stage 4, record: a batch's outcomes and events, one statement per kind."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime

from clarion.domain.enums import Channel
from clarion.domain.pipeline import DeliveryOutcome
from clarion.observability.logging import get_logger
from clarion.ports import UnitOfWork

log = get_logger(__name__)


async def record(
    uow_factory: Callable[[], UnitOfWork],
    outcomes: Sequence[DeliveryOutcome],
    now: datetime,
    *,
    claimed_at: datetime,
) -> set[uuid.UUID]:
    """Store the outcomes of the rows this claim still owns, and forget the
    addresses providers said are gone. Returns the ids stored."""
    if not outcomes:
        return set()
    async with uow_factory() as uow:
        owned = set(await uow.notifications.record_outcomes(outcomes, now, claimed_at=claimed_at))
        await forget_dead_addresses(uow, [o for o in outcomes if o.notification_id in owned], now)
    if len(owned) < len(outcomes):
        log.warning("worker.claims.lost", lost=len(outcomes) - len(owned))
    return owned


async def forget_dead_addresses(
    uow: UnitOfWork, outcomes: Sequence[DeliveryOutcome], now: datetime
) -> None:
    """The provider said these addresses are gone: a push token is removed, an
    SMS number that replied STOP is never texted again."""
    tokens = [a for o in outcomes if o.channel is Channel.PUSH for a in o.forget]
    numbers = [a for o in outcomes if o.channel is Channel.SMS for a in o.forget]
    await uow.contacts.forget_tokens(tokens)
    if numbers:
        await uow.contacts.suppress(numbers, "the recipient replied STOP", now)
