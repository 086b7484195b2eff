"""Retries held until they fall due: a heap ordered by due time.

`wait_due` sleeps until the earliest message is due or a new one arrives,
whichever comes first, so a retry due in an hour never holds up one due in a
second, and nothing polls while there is nothing to do.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections.abc import Callable
from datetime import datetime

from clarion.domain.delivery import QueueMessage
from clarion.domain.time import utcnow

# wall clocks can be stepped: look again at least this often while waiting
LONGEST_SLEEP = 60.0


class DueHeap:
    def __init__(self, clock: Callable[[], datetime] = utcnow) -> None:
        self._clock = clock
        self._heap: list[tuple[datetime, int, QueueMessage]] = []
        self._order = itertools.count()
        self._changed = asyncio.Event()

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, message: QueueMessage) -> None:
        due = message.due_at or self._clock()
        heapq.heappush(self._heap, (due, next(self._order), message))
        self._changed.set()

    def keep(self, wanted: Callable[[QueueMessage], bool]) -> None:
        """Drop every held message `wanted` refuses (a partition moved away)."""
        self._heap = [entry for entry in self._heap if wanted(entry[2])]
        heapq.heapify(self._heap)

    def take_due(self) -> list[QueueMessage]:
        now = self._clock()
        due: list[QueueMessage] = []
        while self._heap and self._heap[0][0] <= now:
            due.append(heapq.heappop(self._heap)[2])
        return due

    async def wait_due(self, stop: asyncio.Event) -> list[QueueMessage]:
        """The messages now due; empty only when `stop` is set."""
        while not stop.is_set():
            due = self.take_due()
            if due:
                return due
            timeout = LONGEST_SLEEP
            if self._heap:
                timeout = min(timeout, (self._heap[0][0] - self._clock()).total_seconds())
            self._changed.clear()
            waits = {asyncio.ensure_future(e.wait()) for e in (self._changed, stop)}
            try:
                await asyncio.wait(
                    waits, timeout=max(0.0, timeout), return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                for waiting in waits:
                    waiting.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await waiting
        return []
