"""Rate limiting on the `limits` library: moving windows in memory or in Redis."""

from __future__ import annotations

import time
from functools import lru_cache

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio import ConnectionPool

from clarion.domain.ratelimit import RateDecision, TierState


@lru_cache(maxsize=256)
def parse_tiers(tiers: str) -> tuple[RateLimitItem, ...]:
    return tuple(parse_many(tiers))


def tier_name(item: RateLimitItem) -> str:
    return f"{item.amount}-per-{item.get_expiry()}s"


class LimitsRateLimiter:
    name = "rate_limiter"

    def __init__(self, storage: Storage, kind: str, pool: ConnectionPool | None = None) -> None:
        self._storage = storage
        self._limiter = MovingWindowRateLimiter(storage)
        self._pool = pool
        self.kind = kind

    @classmethod
    def in_memory(cls) -> LimitsRateLimiter:
        return cls(MemoryStorage(), "memory")

    @classmethod
    def on_redis(cls, url: str) -> LimitsRateLimiter:
        # Our own pool, handed to the storage, so that close() can release it.
        pool = ConnectionPool.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        storage = RedisStorage(
            "async+" + url,
            implementation="redispy",
            key_prefix="clarion-rl",
            wrap_exceptions=True,
            connection_pool=pool,  # type: ignore[arg-type]
        )
        return cls(storage, "redis", pool)

    async def ping(self) -> None:
        if not await self._storage.check():
            raise ConnectionError("rate limit storage did not answer")

    async def hit(self, key: str, tiers: str, cost: int = 1) -> RateDecision:
        items = parse_tiers(tiers)
        # Look before spending, so a batch too big for a later tier does not use
        # up an earlier one; then spend, stopping at the first refusal (another
        # process may have spent meanwhile).
        allowed = True
        if cost > 1 and len(items) > 1:
            for item in items:
                if not await self._limiter.test(item, key, cost=cost):
                    allowed = False
                    break
        if allowed:
            for item in items:
                if not await self._limiter.hit(item, key, cost=cost):
                    allowed = False
                    break
        states = []
        now = time.time()
        for item in items:
            stats = await self._limiter.get_window_stats(item, key)
            states.append(
                TierState(
                    name=tier_name(item),
                    limit=item.amount,
                    window_seconds=item.get_expiry(),
                    remaining=stats.remaining,
                    reset_seconds=max(0.0, stats.reset_time - now),
                )
            )
        return RateDecision(allowed=allowed, tiers=tuple(states))

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
