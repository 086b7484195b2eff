"""The one composition root: builds Clarion's object graph from settings.

The API, the worker, the scheduler and the tests all call `build_container`,
so every process runs on the same adapters for the same settings.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy.engine.url import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from clarion.adapters.archive.store import ObstoreArchive
from clarion.adapters.cache.counting import CacheStats, CountingCache
from clarion.adapters.cache.memory import MemoryCache
from clarion.adapters.cache.redis import RedisCache
from clarion.adapters.db.archive import SqlArchiveLedger
from clarion.adapters.db.engine import Database
from clarion.adapters.db.health import DatabaseComponent
from clarion.adapters.db.sandbox import SqlSandboxOutbox
from clarion.adapters.fanout.memory import MemoryFanout
from clarion.adapters.fanout.redis import RedisFanout
from clarion.adapters.providers.registry import Routes, build_routes, webhook_policy
from clarion.adapters.queue.embedded import EmbeddedQueue
from clarion.adapters.queue.kafka import KafkaQueue
from clarion.adapters.queue.kafka_wire import KafkaSettings
from clarion.adapters.ratelimit.limits_backend import LimitsRateLimiter
from clarion.adapters.token_keys import load_token_keys, shared_secret
from clarion.config import Settings
from clarion.domain.notifications import RetryPolicy
from clarion.domain.webhooks import AddressPolicy
from clarion.observability import metrics
from clarion.ports import Cache, Component, Fanout, RateLimiter, UnitOfWork
from clarion.services.archive import ArchiveService
from clarion.services.auth import AuthService
from clarion.services.delivery import Deliverer
from clarion.services.notifications import NotificationService
from clarion.services.outbox import SweepSettings
from clarion.services.passwords import Passwords
from clarion.services.principals import PrincipalCache
from clarion.services.rendering import Renderer
from clarion.services.templates import TemplateService
from clarion.services.tokens import TokenService
from clarion.services.unsubscribe import UnsubscribeLinks


@dataclass
class Container:
    settings: Settings
    database: Database
    cache: CountingCache
    queue: EmbeddedQueue | KafkaQueue
    rate_limiter: RateLimiter
    auth: AuthService
    sandbox: SqlSandboxOutbox
    deliverer: Deliverer
    notifications: NotificationService
    sweep_settings: SweepSettings
    fanout: Fanout
    routes: Routes
    webhook_policy: AddressPolicy
    templates: TemplateService
    unsubscribe_links: UnsubscribeLinks
    archive: ArchiveService
    queue_survives_restart: bool = False
    started_at: float = field(default_factory=time.monotonic)

    @property
    def components(self) -> list[Component]:
        components: list[Component] = [DatabaseComponent(self.reader), self.queue, self.cache]
        if self.settings.rate_limit_enabled and self.rate_limiter.kind != "memory":
            components.append(self.rate_limiter)
        return components

    @property
    def engine(self) -> AsyncEngine:
        return self.database.engine

    @property
    def reader(self) -> AsyncEngine:
        return self.database.reader

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return self.database.sessions

    def unit_of_work(self) -> UnitOfWork:
        """A transaction that may write anything."""
        return self.database.unit_of_work()

    def grouped(self) -> UnitOfWork:
        """A transaction of the hot path: its batch writes share commits."""
        return self.database.grouped()

    def reading(self) -> UnitOfWork:
        """A transaction that only reads."""
        return self.database.reading()

    @property
    def cache_stats(self) -> CacheStats:
        return self.cache.stats

    def queue_depth(self) -> dict[str, int]:
        return self.queue.depth()

    async def close(self) -> None:
        await self.notifications.confirmations.close()
        await self.routes.close()
        await self.cache.close()
        await self.fanout.close()
        await self.rate_limiter.close()
        await self.queue.close()
        await self.database.close()


def build_auth(settings: Settings, cache: Cache) -> AuthService:
    tokens = TokenService(
        keys=load_token_keys(settings),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        access_ttl=timedelta(seconds=settings.access_token_ttl_seconds),
        refresh_ttl=timedelta(seconds=settings.refresh_token_ttl_seconds),
    )
    return AuthService(
        passwords=Passwords(),
        tokens=tokens,
        min_password=settings.password_min_length,
        principals=PrincipalCache(cache),
    )


def archive_folder(settings: Settings) -> Path:
    """The embedded default: an `archive` folder beside the SQLite file."""
    if settings.is_sqlite:
        path = make_url(settings.database_url).database
        if path and path != ":memory:":
            return Path(path).parent / "archive"
    return settings.data_dir / "archive"


def build_archive(settings: Settings, database: Database) -> ArchiveService:
    store = (
        ObstoreArchive.from_url(
            settings.archive_url,
            endpoint=settings.archive_s3_endpoint,
            region=settings.archive_s3_region,
        )
        if settings.archive_url
        else ObstoreArchive.local(archive_folder(settings))
    )
    hours = settings.archive_interval_hours
    return ArchiveService(
        store=store,
        ledger=SqlArchiveLedger(database),
        older_than_days=settings.archive_after_days,
        chunk_rows=settings.archive_chunk_rows,
        every=timedelta(hours=hours) if hours else None,
    )


def days_in_ms(days: float) -> int:
    return round(days * 86_400_000)


def build_container(settings: Settings) -> Container:
    metrics.record(settings.metrics_enabled)
    redis_url = settings.redis_url
    cache = CountingCache(RedisCache.from_url(redis_url) if redis_url else MemoryCache())
    auth = build_auth(settings, cache)
    database = Database(settings)
    queue: EmbeddedQueue | KafkaQueue = (
        KafkaQueue(
            KafkaSettings(
                bootstrap_servers=settings.kafka_bootstrap_servers,
                partitions=settings.kafka_partitions,
                replication_factor=settings.kafka_replication_factor,
                compression=settings.kafka_compression,
                retry_retention_ms=days_in_ms(settings.kafka_retry_retention_days),
                dlq_retention_ms=days_in_ms(settings.kafka_dlq_retention_days),
            )
        )
        if settings.kafka_bootstrap_servers
        else EmbeddedQueue()
    )
    sandbox = SqlSandboxOutbox(database.read_sessions, database.write)
    fanout: Fanout = RedisFanout.from_url(redis_url) if redis_url else MemoryFanout()
    addresses = webhook_policy(settings)
    routes = build_routes(settings, sandbox, addresses)
    policy = RetryPolicy(
        max_retries=settings.retry_max,
        base_seconds=settings.retry_base_seconds,
        cap_seconds=settings.retry_cap_seconds,
    )

    return Container(
        settings=settings,
        database=database,
        cache=cache,
        queue=queue,
        rate_limiter=(
            LimitsRateLimiter.on_redis(redis_url) if redis_url else LimitsRateLimiter.in_memory()
        ),
        auth=auth,
        sandbox=sandbox,
        deliverer=Deliverer(
            routes.by_channel,
            policy,
            concurrency=settings.provider_concurrency,
            # each provider of a chain has its own timeout; this bounds the chain
            send_timeout=settings.provider_timeout_seconds * 2 + 1,
        ),
        templates=TemplateService(cache=cache, renderer=Renderer()),
        unsubscribe_links=UnsubscribeLinks(
            secret=shared_secret(
                settings,
                settings.unsubscribe_secret,
                "CLARION_UNSUBSCRIBE_SECRET",
                "unsubscribe-secret",
                "unsubscribe",
            ),
            base_url=settings.link_base,
            days=settings.unsubscribe_link_days,
        ),
        notifications=NotificationService(
            queue=queue, uow_factory=database.grouped, confirm_publish=queue.survives_restart
        ),
        sweep_settings=SweepSettings(
            grace=timedelta(seconds=settings.outbox_grace_seconds),
            claim_lease=timedelta(seconds=settings.claim_lease_seconds),
            redelivery=timedelta(seconds=settings.outbox_redelivery_seconds),
        ),
        fanout=fanout,
        routes=routes,
        webhook_policy=addresses,
        archive=build_archive(settings, database),
        queue_survives_restart=queue.survives_restart,
    )
