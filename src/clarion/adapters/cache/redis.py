"""Redis cache for the scaled-out mode: values with TTL, tags as Redis sets."""

from __future__ import annotations

from collections.abc import Sequence

from redis.asyncio import Redis

TOMBSTONE = b"\x00clarion:tombstone"
TOMBSTONE_MS = 5000


class RedisCache:
    name = "cache"
    kind = "redis"

    def __init__(self, client: Redis, *, prefix: str = "clarion:") -> None:
        self._redis = client
        self._prefix = prefix

    @classmethod
    def from_url(cls, url: str) -> RedisCache:
        return cls(Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2))

    async def ping(self) -> None:
        await self._redis.ping()

    async def get(self, key: str) -> bytes | None:
        value = await self._redis.get(self._prefix + key)
        # the client is built without decode_responses, so str never comes back
        raw = value.encode() if isinstance(value, str) else value
        return None if raw == TOMBSTONE else raw

    async def fill(
        self, key: str, value: bytes, ttl_seconds: float, tags: tuple[str, ...] = ()
    ) -> bool:
        stored = await self._redis.set(
            self._prefix + key, value, px=max(1, int(ttl_seconds * 1000)), nx=True
        )
        if stored:
            await self._tag(self._prefix + key, ttl_seconds, tags)
        return bool(stored)

    async def set(
        self, key: str, value: bytes, ttl_seconds: float, tags: tuple[str, ...] = ()
    ) -> None:
        full_key = self._prefix + key
        await self._redis.set(full_key, value, px=max(1, int(ttl_seconds * 1000)))
        await self._tag(full_key, ttl_seconds, tags)

    async def _tag(self, full_key: str, ttl_seconds: float, tags: tuple[str, ...]) -> None:
        if not tags:
            return
        async with self._redis.pipeline(transaction=True) as pipe:
            for tag in tags:
                tag_key = self._tag_key(tag)
                pipe.sadd(tag_key, full_key)
                # a tag set lives as long as its longest-lived member could
                pipe.expire(tag_key, max(1, int(ttl_seconds)) + 1, gt=True)
                pipe.expire(tag_key, max(1, int(ttl_seconds)) + 1, nx=True)
            await pipe.execute()

    async def delete(self, *keys: str) -> None:
        await self._tombstones([self._prefix + key for key in keys])

    async def invalidate_tag(self, *tags: str) -> None:
        if not tags:
            return
        # Read and drop the tag sets in one transaction: a key tagged after this
        # point lands in a fresh set and is not lost from the next invalidation.
        async with self._redis.pipeline(transaction=True) as pipe:
            for tag in tags:
                pipe.smembers(self._tag_key(tag))
                pipe.delete(self._tag_key(tag))
            answers = await pipe.execute()
        await self._tombstones([member for members in answers[::2] for member in members])

    async def _tombstones(self, full_keys: Sequence[str | bytes]) -> None:
        if len(full_keys) == 1:
            await self._redis.set(full_keys[0], TOMBSTONE, px=TOMBSTONE_MS)
        elif full_keys:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key in full_keys:
                    pipe.set(key, TOMBSTONE, px=TOMBSTONE_MS)
                await pipe.execute()

    async def close(self) -> None:
        await self._redis.aclose()

    def _tag_key(self, tag: str) -> str:
        return f"{self._prefix}tag:{tag}"
