"""Gauges a process refreshes on its own, every few seconds: its queue's lag
(where consumers run) and, when a server shares metrics between processes,
its memory and CPU time."""

from __future__ import annotations

import asyncio
import contextlib

from clarion.adapters.queue.embedded import LANE_TOPICS, RETRY_TOPIC, EmbeddedQueue
from clarion.bootstrap import Container
from clarion.domain.enums import Priority
from clarion.observability import metrics
from clarion.observability.logging import get_logger

log = get_logger(__name__)
EVERY_SECONDS = 15.0


async def queue_lag(container: Container) -> None:
    queue = container.queue
    if isinstance(queue, EmbeddedQueue):
        for lane, depth in queue.depth().items():
            metrics.CONSUMER_LAG.labels(LANE_TOPICS[Priority(lane)]).set(depth)
        metrics.CONSUMER_LAG.labels(RETRY_TOPIC).set(queue.retries_waiting())
        return
    stats = await queue.stats()  # Kafka: committed offsets against the end offsets
    for found in [*stats["lanes"].values(), stats["retry"]]:
        if "topic" in found:
            metrics.CONSUMER_LAG.labels(found["topic"]).set(found["lag"])


async def refresh(container: Container, stop: asyncio.Event, *, consumers: bool) -> None:
    while not stop.is_set():
        metrics.sample_process()
        if consumers and metrics.recording():
            try:
                await queue_lag(container)
            except Exception as exc:
                log.warning("metrics.lag.failed", error=type(exc).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), EVERY_SECONDS)
