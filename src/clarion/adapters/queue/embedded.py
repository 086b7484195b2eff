"""The embedded queue: in-process transport for `clarion serve`.

One FIFO lane per priority; `consume` always drains the most urgent lane
first, so a LOW backlog never delays URGENT work. The database stays the
source of truth: after a crash this queue is empty, and the outbox sweeper
publishes again every row that was not delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from clarion.adapters.queue.due import DueHeap
from clarion.domain.delivery import QueueMessage
from clarion.domain.enums import Priority
from clarion.domain.notifications import LANES
from clarion.domain.time import utcnow
from clarion.observability.metrics import CONSUMED, PUBLISHED, count_topics, recording

# the topics a Kafka deployment would use, so both queues report alike
LANE_TOPICS = {
    Priority.URGENT: "notifications.urgent",
    Priority.HIGH: "notifications.high",
    Priority.MEDIUM: "notifications",
    Priority.LOW: "notifications.low",
}
RETRY_TOPIC = "notifications.retry"


class EmbeddedQueue:
    name = "queue"
    kind = "embedded"
    # an empty queue at start means every unfinished row must be published again
    survives_restart = False

    def __init__(
        self, *, visibility_timeout: float = 300.0, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._lanes = {lane: deque[QueueMessage]() for lane in LANES}
        self._queued: dict[uuid.UUID, QueueMessage] = {}
        self._in_flight: dict[uuid.UUID, tuple[QueueMessage, float]] = {}
        self._visibility_timeout = visibility_timeout
        self._arrived = asyncio.Event()
        self._retries = DueHeap(clock)

    async def ping(self) -> None:
        return None

    def depth(self) -> dict[str, int]:
        return {lane.value: len(messages) for lane, messages in self._lanes.items()}

    async def publish(self, messages: Sequence[QueueMessage]) -> None:
        for message in messages:
            waiting = self._queued.get(message.notification_id)
            if waiting is not None:
                if waiting.priority is message.priority:
                    continue  # already waiting: a second copy would only lose its claim
                # its priority changed while it waited: it moves to the new lane
                self._lanes[waiting.priority].remove(waiting)
            self._queued[message.notification_id] = message
            self._lanes[message.priority].append(message)
        if messages:
            self._arrived.set()
            count_topics(PUBLISHED, (LANE_TOPICS[m.priority] for m in messages))

    async def consume(
        self, max_messages: int, wait_seconds: float, lanes: Sequence[Priority] = LANES
    ) -> Sequence[QueueMessage]:
        deadline = time.monotonic() + wait_seconds
        while True:
            self._requeue_expired()
            taken = self._take(max_messages, lanes)
            if taken:
                if recording():
                    CONSUMED.labels(LANE_TOPICS[taken[0].priority]).inc(len(taken))
                return taken
            now = time.monotonic()
            if now >= deadline:
                return []
            # wake for new messages, or when an unacknowledged one falls due again
            wake = min([deadline, *(expires for _, expires in self._in_flight.values())])
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), max(0.0, wake - now))

    def _take(self, max_messages: int, lanes: Sequence[Priority]) -> list[QueueMessage]:
        taken: list[QueueMessage] = []
        expires = time.monotonic() + self._visibility_timeout
        for lane in lanes:
            messages = self._lanes[lane]
            while messages and len(taken) < max_messages:
                message = messages.popleft()
                self._queued.pop(message.notification_id, None)
                self._in_flight[message.notification_id] = (message, expires)
                taken.append(message)
            if taken:
                # a batch never mixes lanes: urgent work is not held up by a
                # slow LOW message sharing its batch
                break
        return taken

    def _requeue_expired(self) -> None:
        now = time.monotonic()
        expired = [m for m, deadline in self._in_flight.values() if deadline <= now]
        for message in expired:
            del self._in_flight[message.notification_id]
            if message.notification_id not in self._queued:
                self._queued[message.notification_id] = message
                self._lanes[message.priority].appendleft(message)

    async def ack(self, messages: Sequence[QueueMessage]) -> None:
        for message in messages:
            self._in_flight.pop(message.notification_id, None)

    async def behind(self, before: datetime) -> set[Priority]:
        """Nothing published to this queue is lost while the process lives: a
        lane holding messages (waiting or handed out) is still working through
        them; in an empty lane, an unclaimed row's message is gone."""
        holding = {lane for lane, messages in self._lanes.items() if messages}
        return holding | {message.priority for message, _ in self._in_flight.values()}

    async def stats(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "lanes": self.depth(),
            "inFlight": len(self._in_flight),
            "retriesWaiting": self.retries_waiting(),
        }

    def retries_waiting(self) -> int:
        return len(self._retries)

    async def publish_retries(self, messages: Sequence[QueueMessage]) -> None:
        for message in messages:
            self._retries.push(message)
        if messages and recording():
            PUBLISHED.labels(RETRY_TOPIC).inc(len(messages))

    async def relay_retries(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            due = await self._retries.wait_due(stop)
            await self.publish(due)

    async def publish_dead_letters(self, messages: Sequence[QueueMessage]) -> None:
        return None  # nobody outside this process could read them: the database has them

    async def close(self) -> None:
        self._arrived.set()
