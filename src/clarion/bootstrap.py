"""The one composition root: builds Clarion's object graph from settings.

The API, the worker, the scheduler and the tests all call `build_container`,
so every process runs on the same adapters for the same settings.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from clarion.adapters.cache.memory import MemoryCache
from clarion.adapters.cache.redis import RedisCache
from clarion.adapters.db.engine import create_engine, create_session_factory
from clarion.adapters.db.health import DatabaseComponent
from clarion.adapters.queue.embedded import EmbeddedQueue
from clarion.config import ConfigError, Settings
from clarion.ports import Cache, Component


@dataclass
class Container:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    cache: Cache
    queue: EmbeddedQueue
    started_at: float = field(default_factory=time.monotonic)

    @property
    def components(self) -> list[Component]:
        return [DatabaseComponent(self.engine), self.queue, self.cache]

    async def close(self) -> None:
        await self.cache.close()
        await self.queue.close()
        await self.engine.dispose()


def build_container(settings: Settings) -> Container:
    if settings.kafka_bootstrap_servers is not None:
        raise ConfigError(
            "CLARION_KAFKA_BOOTSTRAP_SERVERS is set, but this version has no Kafka queue "
            "adapter yet; unset it to use the embedded queue."
        )
    engine = create_engine(settings)
    cache: Cache = RedisCache.from_url(settings.redis_url) if settings.redis_url else MemoryCache()
    return Container(
        settings=settings,
        engine=engine,
        sessions=create_session_factory(engine),
        cache=cache,
        queue=EmbeddedQueue(),
    )
