"""Run consumers and the scheduler as background tasks of one process."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from clarion.adapters.queue.kafka import KafkaQueue
from clarion.bootstrap import Container
from clarion.domain.enums import Priority
from clarion.domain.notifications import LANES
from clarion.observability.logging import get_logger
from clarion.worker import gauges
from clarion.worker.consumer import Consumer
from clarion.worker.scheduler import Scheduler, archive_when_due

log = get_logger(__name__)


@dataclass
class Background:
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def shutdown(self) -> None:
        """Let each loop finish the batch in hand, then return."""
        self.stop.set()
        await asyncio.gather(*self.tasks, return_exceptions=True)


def consumers(container: Container) -> list[Consumer]:
    """`worker_concurrency` loops that take every lane, most urgent first, and
    one more kept for URGENT work, so an urgent notification never waits for a
    busy loop to finish a LOW batch."""
    settings = container.settings

    def consumer(lanes: tuple[Priority, ...]) -> Consumer:
        return Consumer(
            queue=container.queue,
            uow_factory=container.grouped,
            deliverer=container.deliverer,
            cache=container.cache,
            batch_size=settings.worker_batch_size,
            fanout=container.fanout,
            lanes=lanes,
            templates=container.templates,
            unsubscribe=container.unsubscribe_links,
            quiet_channels=settings.quiet_channels,
        )

    general = [consumer(LANES) for _ in range(settings.worker_concurrency)]
    return [*general, consumer((Priority.URGENT,))]


def scheduler(container: Container) -> Scheduler:
    return Scheduler(
        queue=container.queue,
        uow_factory=container.unit_of_work,
        sweeps=container.grouped,
        settings=container.sweep_settings,
        interval=container.settings.scheduler_interval_seconds,
        # look for lost work at least twice per window, so none waits much longer
        recover_every=min(
            30.0,
            container.settings.claim_lease_seconds / 2,
            container.settings.outbox_redelivery_seconds / 2,
        ),
    )


async def start(container: Container, *, workers: bool, schedule: bool) -> Background:
    background = Background()
    if isinstance(container.queue, KafkaQueue):
        await container.queue.ensure_topics()
        if workers:
            await container.queue.adopt_urgent_offsets()
    if schedule:
        planner = scheduler(container)
        if not container.queue_survives_restart:
            # The in-process queue started empty: whatever was queued or in
            # flight when the last process stopped must be published again.
            await planner.recover(everything=True)
        background.tasks.append(asyncio.create_task(planner.run(background.stop)))
        background.tasks.append(asyncio.create_task(container.queue.relay_retries(background.stop)))
        if container.settings.archive_interval_hours:
            background.tasks.append(
                asyncio.create_task(archive_when_due(container.archive, background.stop))
            )
    running = consumers(container) if workers else []
    if running:
        container.routes.announce()
    for consumer in running:
        background.tasks.append(asyncio.create_task(consumer.run(background.stop)))
    refresher = gauges.refresh(container, background.stop, consumers=bool(running))
    background.tasks.append(asyncio.create_task(refresher))
    log.info("worker.started", consumers=len(running), scheduler=schedule)
    return background
