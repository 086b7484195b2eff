"""The scheduler: promotes due scheduled rows, runs the outbox sweeper, recovers
lost work, purges expired idempotency keys, and runs the daily archive pass."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from clarion.domain.time import utcnow
from clarion.observability.logging import get_logger
from clarion.ports import Queue, UnitOfWork
from clarion.services.archive import ArchiveService
from clarion.services.outbox import SweepSettings, recover_lost_work, sweep_once

log = get_logger(__name__)


class Scheduler:
    def __init__(
        self,
        *,
        queue: Queue,
        uow_factory: Callable[[], UnitOfWork],
        settings: SweepSettings,
        sweeps: Callable[[], UnitOfWork],
        interval: float,
        recover_every: float = 30.0,
        purge_every: float = 3600.0,
    ) -> None:
        self._queue = queue
        self._uow_factory = uow_factory
        # a tick's writes are batch statements: on SQLite they share the writer's
        # commits instead of holding it for a transaction of their own
        self._sweeps = sweeps
        self._settings = settings
        self._interval = interval
        self._recover_every = recover_every
        self._purge_every = purge_every

    async def run(self, stop: asyncio.Event) -> None:
        last_recovery = last_purge = time.monotonic()
        while not stop.is_set():
            try:
                published = await self.tick()
                now = time.monotonic()
                if now - last_recovery >= self._recover_every:
                    last_recovery = now
                    await self.recover()
                if now - last_purge >= self._purge_every:
                    last_purge = now
                    await self.purge()
            except Exception as exc:
                log.error("scheduler.tick.failed", error=type(exc).__name__)
                published = 0
            if published == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self._interval)

    async def tick(self) -> int:
        uow = self._sweeps()
        try:
            return await sweep_once(uow, self._queue, self._settings)
        finally:
            await uow.close()

    async def recover(self, *, everything: bool = False) -> tuple[int, int]:
        uow = self._uow_factory()
        try:
            return await recover_lost_work(uow, self._queue, self._settings, everything=everything)
        finally:
            await uow.close()

    async def purge(self) -> int:
        uow = self._uow_factory()
        try:
            purged = await uow.idempotency.purge_expired(utcnow())
            await uow.commit()
            return purged
        finally:
            await uow.close()


async def archive_when_due(
    archive: ArchiveService, stop: asyncio.Event, *, check_every: float = 300.0
) -> None:
    """Every `check_every` seconds, an archive pass if one is due (the last pass,
    by any process, started `CLARION_ARCHIVE_INTERVAL_HOURS` ago or more). A
    task of its own, so a long pass never holds up due notifications; stopping
    cancels a pass under way, which leaves every row in one place (see
    services/archive.py) and is recorded as interrupted."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), check_every)
        if stop.is_set():
            return
        due = asyncio.create_task(archive.run_if_due(), name="archive-pass")
        stopping = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({due, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            if not due.done():
                due.cancel()
        try:
            await due
        except asyncio.CancelledError:
            if not stop.is_set():
                raise
        except Exception as exc:
            log.error("scheduler.archive.failed", error=type(exc).__name__)
