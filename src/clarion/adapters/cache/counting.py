"""Counts cache hits and misses, whatever the adapter underneath, and keeps a
cache outage from failing requests: the cache is an optimisation, the
database answers without it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from clarion.observability.logging import get_logger
from clarion.observability.metrics import CACHE_DURATION, CACHE_HITS, CACHE_MISSES, recording
from clarion.ports import Cache

log = get_logger(__name__)


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    errors: int = 0
    # per kind of entry, the key's first segment ("notification", "principal"):
    # kind -> [hits, misses]
    by_kind: dict[str, list[int]] = field(default_factory=dict)
    _counters: dict[str, tuple[Any, Any]] = field(default_factory=dict, repr=False)

    def count(self, key: str, hit: bool) -> None:
        name = key.split(":", 1)[0]  # made by our code: a short, fixed set
        kind = self.by_kind.get(name)
        if kind is None:
            kind = self.by_kind[name] = [0, 0]
            self._counters[name] = (CACHE_HITS.labels(name), CACHE_MISSES.labels(name))
        if hit:
            self.hits += 1
            kind[0] += 1
        else:
            self.misses += 1
            kind[1] += 1
        if recording():
            self._counters[name][0 if hit else 1].inc()

    def as_dict(self) -> dict[str, object]:
        total = self.hits + self.misses
        return {
            "hits": self.hits,
            "misses": self.misses,
            "hitRate": round(self.hits / total, 4) if total else 0.0,
            "errors": self.errors,
            "byKind": {
                kind: {"hits": hits, "misses": misses}
                for kind, (hits, misses) in sorted(self.by_kind.items())
            },
        }


TIMERS = {op: CACHE_DURATION.labels(op) for op in ("get", "set", "fill", "delete", "invalidate")}


def timed(operation: str, started: float) -> None:
    if recording():
        TIMERS[operation].observe(time.perf_counter() - started)


class CountingCache:
    def __init__(self, inner: Cache) -> None:
        self._inner = inner
        self.stats = CacheStats()
        self.name = inner.name
        self.kind = inner.kind

    async def ping(self) -> None:
        await self._inner.ping()

    async def get(self, key: str) -> bytes | None:
        started = time.perf_counter()
        try:
            value = await self._inner.get(key)
        except Exception as exc:
            self._failed("get", exc)
            value = None
        finally:
            timed("get", started)
        self.stats.count(key, hit=value is not None)
        return value

    async def set(
        self, key: str, value: bytes, ttl_seconds: float, tags: tuple[str, ...] = ()
    ) -> None:
        started = time.perf_counter()
        try:
            await self._inner.set(key, value, ttl_seconds, tags)
        except Exception as exc:
            self._failed("set", exc)
        finally:
            timed("set", started)

    async def fill(
        self, key: str, value: bytes, ttl_seconds: float, tags: tuple[str, ...] = ()
    ) -> bool:
        started = time.perf_counter()
        try:
            return await self._inner.fill(key, value, ttl_seconds, tags)
        except Exception as exc:
            self._failed("fill", exc)
            return False
        finally:
            timed("fill", started)

    async def delete(self, *keys: str) -> None:
        started = time.perf_counter()
        try:
            await self._inner.delete(*keys)
        except Exception as exc:
            self._failed("delete", exc)
        finally:
            timed("delete", started)

    async def invalidate_tag(self, *tags: str) -> None:
        started = time.perf_counter()
        try:
            await self._inner.invalidate_tag(*tags)
        except Exception as exc:
            self._failed("invalidate", exc)
        finally:
            timed("invalidate", started)

    def _failed(self, operation: str, exc: Exception) -> None:
        # An invalidation that failed may leave a stale entry until its TTL: say so.
        self.stats.errors += 1
        log.warning("cache.operation.failed", operation=operation, error=type(exc).__name__)

    async def close(self) -> None:
        await self._inner.close()
