"""Stage 4, record: outcomes and events, one statement per kind for whatever
has come back, written as providers answer rather than after the whole batch."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime

from clarion.domain.enums import Channel
from clarion.domain.pipeline import DeliveryOutcome
from clarion.observability.logging import get_logger
from clarion.ports import UnitOfWork, WriteConflict

log = get_logger(__name__)

CONFLICT_ATTEMPTS = 3


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
    for attempt in range(1, CONFLICT_ATTEMPTS + 1):
        try:
            async with uow_factory() as uow:
                owned = set(
                    await uow.notifications.record_outcomes(outcomes, now, claimed_at=claimed_at)
                )
                await forget_dead_addresses(
                    uow, [o for o in outcomes if o.notification_id in owned], now
                )
            break
        except WriteConflict:
            # the sends happened: losing their outcomes would leave the rows
            # claimed until the lease ends, and then send them again
            if attempt == CONFLICT_ATTEMPTS:
                raise
            log.warning("worker.record.conflict", attempt=attempt, size=len(outcomes))
            await asyncio.sleep(random.uniform(0.01, 0.05) * attempt)  # noqa: S311 (jitter)
    if len(owned) < len(outcomes):
        log.warning("worker.claims.lost", lost=len(outcomes) - len(owned))
    return owned


class Recorder:
    """Records outcomes while the batch is still sending: whatever came back
    while the previous write was committing goes in the next one. A crash can
    then repeat only the sends in flight and the outcomes of one write."""

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        clock: Callable[[], datetime],
        *,
        claimed_at: datetime,
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._claimed_at = claimed_at
        self._waiting: list[DeliveryOutcome] = []
        self._writing: asyncio.Task[None] | None = None
        self.stored: set[uuid.UUID] = set()

    def add(self, outcome: DeliveryOutcome) -> None:
        self._waiting.append(outcome)
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._write())

    async def _write(self) -> None:
        # outcomes that come back together (an in-app batch, a sandbox group
        # commit) are written together
        await asyncio.sleep(0.002)
        while self._waiting:
            outcomes, self._waiting = self._waiting, []
            self.stored |= await record(
                self._uow_factory, outcomes, self._clock(), claimed_at=self._claimed_at
            )

    async def finish(self) -> set[uuid.UUID]:
        """Wait until every outcome added so far is stored (raises if a write failed)."""
        while self._writing is not None:
            writing, self._writing = self._writing, None
            await writing
            if self._waiting:
                self._writing = asyncio.create_task(self._write())
        return self.stored


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
