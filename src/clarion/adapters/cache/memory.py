"""In-process cache for the embedded mode: a dict with expiry times and tag sets.

Bounded: at `max_entries` the expired entries go first, then the oldest; tag
sets forget the keys that leave.
"""

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
        self._tags_of: dict[str, tuple[str, ...]] = {}
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
            self._remove(key)
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
        self._store(key, value, ttl_seconds)
        for tag in tags:
            self._tags[tag].add(key)
        if tags:
            self._tags_of[key] = tuple(set(self._tags_of.get(key, ())) | set(tags))

    async def delete(self, *keys: str) -> None:
        for key in keys:
            self._store(key, TOMBSTONE, TOMBSTONE_SECONDS)

    async def invalidate_tag(self, *tags: str) -> None:
        for tag in tags:
            await self.delete(*self._tags.pop(tag, set()))

    async def close(self) -> None:
        self._entries.clear()
        self._tags.clear()
        self._tags_of.clear()

    def _store(self, key: str, value: bytes, ttl_seconds: float) -> None:
        if key not in self._entries and len(self._entries) >= self._max_entries:
            self._make_room()
        self._entries[key] = (self._clock() + ttl_seconds, value)

    def _make_room(self) -> None:
        now = self._clock()
        for key in [k for k, (expires_at, _) in self._entries.items() if expires_at <= now]:
            self._remove(key)
        if len(self._entries) >= self._max_entries:
            # dicts keep insertion order: the first key is the oldest write
            self._remove(next(iter(self._entries)))

    def _remove(self, key: str) -> None:
        self._entries.pop(key, None)
        for tag in self._tags_of.pop(key, ()):
            members = self._tags.get(tag)
            if members is not None:
                members.discard(key)
                if not members:
                    del self._tags[tag]

    def size(self) -> tuple[int, int]:
        """Entries and tag sets held: what bounds this cache's memory."""
        return len(self._entries), len(self._tags)
