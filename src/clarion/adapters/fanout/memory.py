"""In-process fan-out: one asyncio queue per subscriber."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager


class MemoryFanout:
    name = "fanout"
    kind = "memory"

    def __init__(self, *, buffer: int = 1000) -> None:
        self._subscribers: defaultdict[str, set[asyncio.Queue[bytes]]] = defaultdict(set)
        self._buffer = buffer

    async def ping(self) -> None:
        return None

    async def publish(self, channel: str, payload: bytes) -> None:
        for inbox in list(self._subscribers.get(channel, ())):
            if inbox.full():
                inbox.get_nowait()  # a slow reader loses its oldest message, not the newest
            inbox.put_nowait(payload)

    async def publish_many(self, messages: Sequence[tuple[str, bytes]]) -> None:
        for channel, payload in messages:
            await self.publish(channel, payload)

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[bytes]]:
        inbox: asyncio.Queue[bytes] = asyncio.Queue(self._buffer)
        self._subscribers[channel].add(inbox)

        async def messages() -> AsyncIterator[bytes]:
            while True:
                yield await inbox.get()

        try:
            yield messages()
        finally:
            self._subscribers[channel].discard(inbox)
            if not self._subscribers[channel]:
                del self._subscribers[channel]

    async def close(self) -> None:
        self._subscribers.clear()
