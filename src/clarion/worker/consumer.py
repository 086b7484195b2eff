"""The consumer: takes batches off the queue, hands each to the delivery
pipeline, and acknowledges it once its outcomes are stored."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Sequence
from datetime import datetime

from clarion.domain.content import INTERRUPTIVE
from clarion.domain.delivery import QueueMessage
from clarion.domain.enums import Channel, Priority
from clarion.domain.notifications import LANES
from clarion.domain.pipeline import DeliveryOutcome
from clarion.domain.time import utcnow
from clarion.observability.logging import get_logger
from clarion.ports import Cache, Fanout, Queue, UnitOfWork
from clarion.services.delivery import Deliverer
from clarion.services.pipeline import DeliveryPipeline
from clarion.services.templates import TemplateService
from clarion.services.unsubscribe import UnsubscribeLinks

log = get_logger(__name__)


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
        lanes: Sequence[Priority] = LANES,
        templates: TemplateService | None = None,
        unsubscribe: UnsubscribeLinks | None = None,
        quiet_channels: Collection[Channel] = INTERRUPTIVE,
    ) -> None:
        """`lanes`: the priority lanes this consumer takes from, most urgent first."""
        self._queue = queue
        self._batch_size = batch_size
        self._lanes = tuple(lanes)
        self.pipeline = DeliveryPipeline(
            queue=queue,
            uow_factory=uow_factory,
            deliverer=deliverer,
            cache=cache,
            clock=clock,
            fanout=fanout,
            templates=templates,
            unsubscribe=unsubscribe,
            quiet_channels=quiet_channels,
        )

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            # whatever is waiting, up to a batch: a lone message goes at once
            messages = await self._queue.consume(self._batch_size, 0.5, self._lanes)
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
        outcomes = await self.pipeline.run(messages)
        await self._queue.ack(messages)
        return outcomes
