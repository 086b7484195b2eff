"""Publish after commit, and the outbox sweeper that catches what was not.

The API publishes a request's notifications once its transaction commits and
then confirms them (`published_at`). Rows that are committed but unconfirmed —
the process died between commit and publish, or the queue refused — are
found by the sweeper after a grace period and published again. The same
sweeper publishes promoted scheduled notifications when they are due.

A retry goes to the queue's retry relay, which hands it to a worker at its due
time; the worker confirms it the same way. A retry left unconfirmed is the
sweeper's to publish once it is due and the grace period has passed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from clarion.domain.delivery import QueueMessage
from clarion.domain.time import utcnow
from clarion.observability.logging import get_logger
from clarion.ports import Queue, UnitOfWork

log = get_logger(__name__)


@dataclass(frozen=True)
class SweepSettings:
    grace: timedelta = timedelta(seconds=3)
    batch: int = 500
    claim_lease: timedelta = timedelta(minutes=5)
    redelivery: timedelta = timedelta(minutes=5)


async def publish_committed(
    uow_factory: Callable[[], UnitOfWork], queue: Queue, messages: Sequence[QueueMessage]
) -> None:
    """Hand committed rows to the queue, then record that it accepted them."""
    if not messages:
        return
    await queue.publish(messages)
    uow = uow_factory()
    try:
        await uow.notifications.mark_published([m.notification_id for m in messages], utcnow())
        await uow.commit()
    finally:
        await uow.close()


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
    uow: UnitOfWork, settings: SweepSettings, *, everything: bool = False
) -> tuple[int, int]:
    """Claims whose worker died go back to PENDING; published rows never
    claimed are published again. `everything` is for a process that knows it
    is the only worker (the embedded mode at start): nothing in flight survives."""
    zero = timedelta(0)
    reclaimed, republished = await uow.notifications.recover(
        utcnow(),
        claim_lease=zero if everything else settings.claim_lease,
        redelivery=zero if everything else settings.redelivery,
    )
    await uow.commit()
    if reclaimed or republished:
        log.info("outbox.recovered", reclaimed=reclaimed, republished=republished)
    return reclaimed, republished
