"""Redis cache for the scaled-out mode: values with TTL, tags as Redis sets."""

from __future__ import annotations

from redis.asyncio import Redis


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
        return value.encode() if isinstance(value, str) else value

    async def set(
        self, key: str, value: bytes, ttl_seconds: float, tags: tuple[str, ...] = ()
    ) -> None:
        full_key = self._prefix + key
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(full_key, value, px=max(1, int(ttl_seconds * 1000)))
            for tag in tags:
                tag_key = self._tag_key(tag)
                pipe.sadd(tag_key, full_key)
                # a tag set lives as long as its longest-lived member could
                pipe.expire(tag_key, max(1, int(ttl_seconds)) + 1, gt=True)
                pipe.expire(tag_key, max(1, int(ttl_seconds)) + 1, nx=True)
            await pipe.execute()

    async def delete(self, key: str) -> None:
        await self._redis.delete(self._prefix + key)

    async def invalidate_tag(self, tag: str) -> None:
        # Read and drop the tag set in one transaction: a key tagged after this
        # point lands in a fresh set and is not lost from the next invalidation.
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.smembers(self._tag_key(tag))
            pipe.delete(self._tag_key(tag))
            members, _ = await pipe.execute()
        if members:
            await self._redis.delete(*members)

    async def close(self) -> None:
        await self._redis.aclose()

    def _tag_key(self, tag: str) -> str:
        return f"{self._prefix}tag:{tag}"
