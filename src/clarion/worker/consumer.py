"""The consumer: takes batches off the queue, claims, delivers, records, acks."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

from clarion.domain.delivery import QueueMessage, queue_key
from clarion.domain.enums import Channel, NotificationStatus
from clarion.domain.pipeline import Claimed, DeliveryOutcome
from clarion.domain.time import utcnow
from clarion.observability.logging import get_logger
from clarion.ports import Cache, Fanout, Queue, UnitOfWork
from clarion.services.cache_keys import forget_notifications
from clarion.services.delivery import Deliverer
from clarion.services.inbox import announce_sent
from clarion.services.outbox import publish_retries

log = get_logger(__name__)


async def with_contacts(uow: UnitOfWork, claimed: list[Claimed]) -> list[Claimed]:
    """Add what addressing needs beyond the claim: the user's push tokens for a
    push without its own token, and whether an SMS number is suppressed."""
    push_users = {
        c.record.user_id
        for c in claimed
        if c.record.channel is Channel.PUSH and not c.record.payload.get("token")
    }
    tokens = await uow.contacts.tokens_for(push_users)
    numbers = {
        str(c.record.payload.get("to") or c.phone): c
        for c in claimed
        if c.record.channel is Channel.SMS and (c.record.payload.get("to") or c.phone)
    }
    suppressed = await uow.contacts.suppressed(numbers)
    enriched = []
    for c in claimed:
        if c.record.user_id in tokens and c.record.channel is Channel.PUSH:
            c = replace(c, devices=tokens[c.record.user_id])
        if (
            c.record.channel is Channel.SMS
            and str(c.record.payload.get("to") or c.phone) in suppressed
        ):
            c = replace(c, suppressed=True)
        enriched.append(c)
    return enriched


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


def as_message(claimed: Claimed) -> QueueMessage:
    record = claimed.record
    return QueueMessage(
        notification_id=record.id,
        user_id=record.user_id,
        channel=record.channel,
        priority=record.priority,
        attempt=record.attempts,
        key=queue_key(record.payload, record.user_id),
    )


class Consumer:
    def __init__(
        self,
        *,
        queue: Queue,
        uow_factory: Callable[[], UnitOfWork],
        deliverer: Deliverer,
        cache: Cache,
        batch_size: int,
        clock: Callable[[], datetime] = utcnow,
        fanout: Fanout | None = None,
    ) -> None:
        self._fanout = fanout
        self._clock = clock
        self._queue = queue
        self._uow_factory = uow_factory
        self._deliverer = deliverer
        self._cache = cache
        self._batch_size = batch_size

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            messages = await self._queue.consume(self._batch_size, wait_seconds=0.5)
            if not messages:
                continue
            try:
                await self.process(messages)
            except Exception as exc:
                # Not acknowledged: the queue hands the messages out again and the
                # claim lease returns their rows to PENDING.
                log.error("worker.batch.failed", size=len(messages), error=type(exc).__name__)
                await asyncio.sleep(0.5)

    async def process(self, messages: Sequence[QueueMessage]) -> list[DeliveryOutcome]:
        """One batch, as a unit: claims are committed before anything is sent,
        outcomes are committed before the messages are acknowledged."""
        uow = self._uow_factory()
        try:
            claimed_at = self._clock()  # also the claim's token: outcomes need it to land
            ids = [m.notification_id for m in messages]
            claimed = await with_contacts(uow, await uow.notifications.claim(ids, claimed_at))
            await uow.commit()
        finally:
            await uow.close()
        outcomes: list[DeliveryOutcome] = []
        if claimed:
            outcomes = await self._deliverer.deliver(claimed, self._clock())
            uow = self._uow_factory()
            try:
                stored = await uow.notifications.record_outcomes(
                    outcomes, self._clock(), claimed_at=claimed_at
                )
                owned = set(stored)
                await forget_dead_addresses(
                    uow, [o for o in outcomes if o.notification_id in owned], self._clock()
                )
                await uow.commit()
                if len(owned) < len(outcomes):
                    log.warning("worker.claims.lost", lost=len(outcomes) - len(owned))
            finally:
                await uow.close()
            if self._fanout is not None:
                await announce_sent(self._fanout, claimed, outcomes, owned, self._clock())
            await self._schedule_retries(claimed, outcomes, owned)
            await self._announce_dead_letters(claimed, outcomes, owned)
            await self._forget_cached(outcomes)
        await self._queue.ack(messages)
        return outcomes

    async def _schedule_retries(
        self,
        claimed: Sequence[Claimed],
        outcomes: Sequence[DeliveryOutcome],
        stored: set[uuid.UUID],
    ) -> None:
        due = {
            o.notification_id: o.next_attempt_at
            for o in outcomes
            if o.status is NotificationStatus.PENDING and o.notification_id in stored
        }
        retries = [
            replace(as_message(c), attempt=c.record.attempts + 1, due_at=due[c.record.id])
            for c in claimed
            if c.record.id in due
        ]
        await publish_retries(self._uow_factory, self._queue, retries)

    async def _announce_dead_letters(
        self,
        claimed: Sequence[Claimed],
        outcomes: Sequence[DeliveryOutcome],
        stored: set[uuid.UUID],
    ) -> None:
        dead = {
            o.notification_id
            for o in outcomes
            if o.status is NotificationStatus.FAILED and o.notification_id in stored
        }
        if not dead:
            return
        letters = [as_message(c) for c in claimed if c.record.id in dead]
        try:
            await self._queue.publish_dead_letters(letters)
        except Exception as exc:  # the rows are FAILED in the database all the same
            log.warning("worker.dead_letters.unannounced", error=type(exc).__name__)

    async def _forget_cached(self, outcomes: Sequence[DeliveryOutcome]) -> None:
        await forget_notifications(self._cache, {o.notification_id: o.user_id for o in outcomes})
