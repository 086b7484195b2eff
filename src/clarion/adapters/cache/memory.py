"""In-process cache for the embedded mode: a dict with expiry times and tag sets."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable

TOMBSTONE = b"\x00clarion:tombstone"
TOMBSTONE_SECONDS = 5.0


class MemoryCache:
    name = "cache"
    kind = "memory"

    def __init__(
        self, *, max_entries: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._entries: dict[str, tuple[float, bytes]] = {}
        self._tags: defaultdict[str, set[str]] = defaultdict(set)
        self._max_entries = max_entries
        self._clock = clock

    async def ping(self) -> None:
        return None

    async def get(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires_at, value = entry
        if expires_at <= self._clock():
            del self._entries[key]
            return None
        return None if value == TOMBSTONE else value

    async def fill(
        self, key: str, value: bytes, ttl_seconds: float, tags: tuple[str, ...] = ()
    ) -> bool:
        entry = self._entries.get(key)
        if entry is not None and entry[0] > self._clock():
            return False
        await self.set(key, value, ttl_seconds, tags)
        return True

    async def set(
        self, key: str, value: bytes, ttl_seconds: float, tags: tuple[str, ...] = ()
    ) -> None:
        if len(self._entries) >= self._max_entries and key not in self._entries:
            self._evict_expired_or_oldest()
        self._entries[key] = (self._clock() + ttl_seconds, value)
        for tag in tags:
            self._tags[tag].add(key)

    async def delete(self, key: str) -> None:
        self._entries[key] = (self._clock() + TOMBSTONE_SECONDS, TOMBSTONE)

    async def invalidate_tag(self, tag: str) -> None:
        for key in self._tags.pop(tag, set()):
            await self.delete(key)

    async def close(self) -> None:
        self._entries.clear()
        self._tags.clear()

    def _evict_expired_or_oldest(self) -> None:
        now = self._clock()
        expired = [key for key, (expires_at, _) in self._entries.items() if expires_at <= now]
        for key in expired:
            del self._entries[key]
        if len(self._entries) >= self._max_entries:
            # dicts keep insertion order: the first key is the oldest write
            del self._entries[next(iter(self._entries))]
