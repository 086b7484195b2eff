"""The one composition root: builds Clarion's object graph from settings.

The API, the worker, the scheduler and the tests all call `build_container`,
so every process runs on the same adapters for the same settings.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from clarion.adapters.cache.memory import MemoryCache
from clarion.adapters.cache.redis import RedisCache
from clarion.adapters.db.engine import create_engine, create_session_factory
from clarion.adapters.db.health import DatabaseComponent
from clarion.adapters.db.identity import SqlUnitOfWork
from clarion.adapters.queue.embedded import EmbeddedQueue
from clarion.adapters.ratelimit.limits_backend import LimitsRateLimiter
from clarion.adapters.token_keys import load_token_keys
from clarion.config import ConfigError, Settings
from clarion.ports import Cache, Component, RateLimiter
from clarion.services.auth import AuthService
from clarion.services.passwords import Passwords
from clarion.services.tokens import TokenService


@dataclass
class Container:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    cache: Cache
    queue: EmbeddedQueue
    rate_limiter: RateLimiter
    auth: AuthService
    started_at: float = field(default_factory=time.monotonic)

    @property
    def components(self) -> list[Component]:
        components: list[Component] = [DatabaseComponent(self.engine), self.queue, self.cache]
        if self.settings.rate_limit_enabled and self.rate_limiter.kind != "memory":
            components.append(self.rate_limiter)
        return components

    def unit_of_work(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.sessions())

    async def close(self) -> None:
        await self.cache.close()
        await self.rate_limiter.close()
        await self.queue.close()
        await self.engine.dispose()


def build_auth(settings: Settings) -> AuthService:
    tokens = TokenService(
        keys=load_token_keys(settings),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        access_ttl=timedelta(seconds=settings.access_token_ttl_seconds),
        refresh_ttl=timedelta(seconds=settings.refresh_token_ttl_seconds),
    )
    return AuthService(
        passwords=Passwords(), tokens=tokens, min_password=settings.password_min_length
    )


def build_container(settings: Settings) -> Container:
    if settings.kafka_bootstrap_servers is not None:
        raise ConfigError(
            "CLARION_KAFKA_BOOTSTRAP_SERVERS is set, but this version has no Kafka queue "
            "adapter yet; unset it to use the embedded queue."
        )
    auth = build_auth(settings)
    engine = create_engine(settings)
    redis_url = settings.redis_url
    return Container(
        settings=settings,
        engine=engine,
        sessions=create_session_factory(engine),
        cache=RedisCache.from_url(redis_url) if redis_url else MemoryCache(),
        queue=EmbeddedQueue(),
        rate_limiter=(
            LimitsRateLimiter.on_redis(redis_url) if redis_url else LimitsRateLimiter.in_memory()
        ),
        auth=auth,
    )
