"""Fan-out through Redis pub/sub, so every API process sees every message."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from redis.asyncio import Redis


class RedisFanout:
    name = "fanout"
    kind = "redis"

    def __init__(self, client: Redis, *, prefix: str = "clarion:fanout:") -> None:
        self._redis = client
        self._prefix = prefix

    @classmethod
    def from_url(cls, url: str) -> RedisFanout:
        return cls(Redis.from_url(url, socket_connect_timeout=2))

    async def ping(self) -> None:
        await self._redis.ping()

    async def publish(self, channel: str, payload: bytes) -> None:
        await self._redis.publish(self._prefix + channel, payload)

    async def publish_many(self, messages: Sequence[tuple[str, bytes]]) -> None:
        if not messages:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for channel, payload in messages:
                pipe.publish(self._prefix + channel, payload)
            await pipe.execute()

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[bytes]]:
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(self._prefix + channel)  # subscribed before the caller goes on

        async def messages() -> AsyncIterator[bytes]:
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if message is not None and message["type"] == "message":
                    data = message["data"]
                    yield data.encode() if isinstance(data, str) else bytes(data)

        try:
            yield messages()
        finally:
            await pubsub.unsubscribe()
            await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def close(self) -> None:
        await self._redis.aclose()
