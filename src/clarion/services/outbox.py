"""Publish after commit, and the outbox sweeper that catches what was not.

The API publishes a request's notifications once its transaction commits and
then confirms them (`published_at`); confirmations of concurrent requests are
written together, a few milliseconds later, in one statement. Rows that are
committed but unconfirmed — the process died between commit and publish or
confirmation, or the queue refused — are found by the sweeper after a grace
period and published again. The same sweeper publishes promoted scheduled
notifications when they are due.

A retry goes to the queue's retry relay, which hands it to a worker at its due
time; the worker confirms it the same way. A retry left unconfirmed is the
sweeper's to publish once it is due and the grace period has passed.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from clarion.domain.delivery import QueueMessage
from clarion.domain.enums import Priority
from clarion.domain.notifications import LANES
from clarion.domain.time import utcnow
from clarion.observability.logging import get_logger
from clarion.ports import Queue, UnitOfWork

log = get_logger(__name__)
# how long after it is marked published a row's message can still reach the
# queue (the Kafka producer's message.timeout.ms)
PUBLISH_TIMEOUT = timedelta(seconds=10)


@dataclass(frozen=True)
class SweepSettings:
    grace: timedelta = timedelta(seconds=3)
    batch: int = 500
    claim_lease: timedelta = timedelta(minutes=5)
    redelivery: timedelta = timedelta(minutes=5)


class Confirmations:
    """Records that the queue accepted rows, for many requests at once: what
    arrives while one write is waiting or running goes in the next, so a busy
    API writes one confirmation per few milliseconds, not one per request.
    A confirmation lost to a crash costs only a second publish after the grace
    period (claims are conditional: nothing is sent twice for it)."""

    def __init__(self, uow_factory: Callable[[], UnitOfWork], delay: float = 0.005) -> None:
        self._uow_factory = uow_factory
        self._delay = delay
        self._waiting: list[uuid.UUID] = []
        self._writing: asyncio.Task[None] | None = None

    def add(self, ids: Sequence[uuid.UUID]) -> None:
        self._waiting.extend(ids)
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._write())

    async def _write(self) -> None:
        await asyncio.sleep(self._delay)
        while self._waiting:
            ids, self._waiting = self._waiting, []
            try:
                async with self._uow_factory() as uow:
                    await uow.notifications.mark_published(ids, utcnow())
            except Exception as exc:  # unconfirmed: the sweeper publishes them again
                log.warning("outbox.unconfirmed", count=len(ids), error=type(exc).__name__)

    async def close(self) -> None:
        """Write what is waiting."""
        if self._writing is not None:
            with contextlib.suppress(Exception):
                await self._writing


async def publish_committed(
    queue: Queue, confirmations: Confirmations, messages: Sequence[QueueMessage]
) -> None:
    """Hand committed rows to the queue, then have it recorded that it accepted them."""
    if not messages:
        return
    await queue.publish(messages)
    confirmations.add([m.notification_id for m in messages])


async def publish_retries(
    uow_factory: Callable[[], UnitOfWork], queue: Queue, messages: Sequence[QueueMessage]
) -> None:
    """Hand stored retries to the queue's relay and confirm them. If the queue
    refuses, they stay unconfirmed and the sweeper publishes them when due."""
    if not messages:
        return
    try:
        await queue.publish_retries(messages)
    except Exception as exc:
        log.warning("outbox.retries.unpublished", count=len(messages), error=type(exc).__name__)
        return
    uow = uow_factory()
    try:
        await uow.notifications.confirm_retries(messages, utcnow())
        await uow.commit()
    except Exception as exc:  # unconfirmed: the sweeper publishes them once due
        log.warning("outbox.retries.unconfirmed", count=len(messages), error=type(exc).__name__)
    finally:
        await uow.close()


async def sweep_once(
    uow: UnitOfWork, queue: Queue, settings: SweepSettings, now: datetime | None = None
) -> int:
    """Promote due scheduled rows and publish every due, unconfirmed row.

    Rows are marked published in the same transaction that selects them, and
    the queue gets them only after that commits; if publishing then fails, the
    redelivery window brings them back."""
    now = now or utcnow()
    await uow.notifications.promote_scheduled(now, limit=settings.batch)
    messages = await uow.notifications.take_unpublished(
        now, grace=settings.grace, limit=settings.batch
    )
    await uow.commit()
    if messages:
        await queue.publish(messages)
        log.debug("outbox.published", count=len(messages))
    return len(messages)


async def recover_lost_work(
    uow: UnitOfWork, queue: Queue, settings: SweepSettings, *, everything: bool = False
) -> tuple[int, int]:
    """Claims whose worker died go back to PENDING; published rows never
    claimed are published again, in the lanes whose consumers have handled
    everything published before them (a row in a lane that is merely behind is
    waiting, not lost: publishing it again would only add a copy for the
    workers to read past). `everything` is for a process that knows it is the
    only worker (the embedded mode at start): nothing in flight survives."""
    zero = timedelta(0)
    now = utcnow()
    lanes: Collection[Priority] = LANES
    if not everything:
        # a row's message reaches the broker within the producer's timeout after
        # published_at, or not at all
        behind = await queue.behind(now - settings.redelivery + PUBLISH_TIMEOUT)
        lanes = [lane for lane in LANES if lane not in behind]
    reclaimed, republished = await uow.notifications.recover(
        now,
        claim_lease=zero if everything else settings.claim_lease,
        redelivery=zero if everything else settings.redelivery,
        lanes=lanes,
    )
    await uow.commit()
    if reclaimed or republished:
        log.info("outbox.recovered", reclaimed=reclaimed, republished=republished)
    return reclaimed, republished
