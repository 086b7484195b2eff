"""Counts cache hits and misses, whatever the adapter underneath."""

from __future__ import annotations

from dataclasses import dataclass

from clarion.ports import Cache


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0

    def as_dict(self) -> dict[str, float]:
        total = self.hits + self.misses
        return {
            "hits": self.hits,
            "misses": self.misses,
            "hitRate": round(self.hits / total, 4) if total else 0.0,
        }


class CountingCache:
    def __init__(self, inner: Cache) -> None:
        self._inner = inner
        self.stats = CacheStats()
        self.name = inner.name
        self.kind = inner.kind

    async def ping(self) -> None:
        await self._inner.ping()

    async def get(self, key: str) -> bytes | None:
        value = await self._inner.get(key)
        if value is None:
            self.stats.misses += 1
        else:
            self.stats.hits += 1
        return value

    async def set(
        self, key: str, value: bytes, ttl_seconds: float, tags: tuple[str, ...] = ()
    ) -> None:
        await self._inner.set(key, value, ttl_seconds, tags)

    async def fill(
        self, key: str, value: bytes, ttl_seconds: float, tags: tuple[str, ...] = ()
    ) -> bool:
        return await self._inner.fill(key, value, ttl_seconds, tags)

    async def delete(self, key: str) -> None:
        await self._inner.delete(key)

    async def invalidate_tag(self, tag: str) -> None:
        await self._inner.invalidate_tag(tag)

    async def close(self) -> None:
        await self._inner.close()
