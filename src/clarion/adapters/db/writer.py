"""SQLite's one writer: every write of the process goes through one connection,
and writes that arrive while a commit is in flight are committed together.

A *job* is a plain function over a synchronous connection. `run` queues it and
returns its result once the transaction holding it has committed, so a caller
that answers after `run` answers only for stored rows. The writer takes what
has queued up (up to about `max_rows` rows, after waiting at most `delay`
seconds for more), runs the jobs in one transaction on its own thread, and
commits once: one thread hop and one commit per group, not per request. A job
that raises is rolled back alone (the group runs again, a savepoint per job);
the others in its group commit.

Other writers of the process (a request that changes a user, say) take
the writer (`acquire`, `release`) for their whole transaction, so they never meet the writer
inside SQLite and nothing waits in SQLite's busy handler.

The writer's connection does not checkpoint the WAL itself: a checkpoint copies
pages into the database file and syncs it, and inside a commit that stall falls
on every request of the group. A thread of its own runs a passive checkpoint
(one that never waits for a lock) shortly after commits instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event

from clarion.adapters.db import metrics as db_metrics
from clarion.observability.logging import get_logger

log = get_logger(__name__)
T = TypeVar("T")
Job = Callable[[Connection], Any]
CHECKPOINT_EVERY = 0.2  # seconds: at most this often, and only after a commit


@dataclass
class _Queued:
    job: Job
    done: asyncio.Future[Any]
    result: Any = None
    error: BaseException | None = None
    rows: int = 1
    urgent: bool = False


class SqliteWriter:
    def __init__(self, path: str, *, delay: float = 0.0, max_rows: int = 2000) -> None:
        self._path = path
        self._delay = delay
        self._max_rows = max_rows
        self._queue: list[_Queued] = []
        self._arrived = asyncio.Event()
        self._lock = asyncio.Lock()
        self._holder: asyncio.Task[Any] | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        self._checkpointer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-wal")
        self._checkpoint: Future[None] | None = None
        self._engine: Engine | None = None
        self._task: asyncio.Task[None] | None = None
        self.commits = 0  # transactions committed (each holds one or more jobs)

    async def acquire(self) -> None:
        """Hold the writer: no group runs until `release`. Holding it twice in one task would
        wait for itself: that is a bug, and it fails at once instead."""
        task = asyncio.current_task()
        if task is not None and task is self._holder:
            raise RuntimeError("this task already holds the SQLite writer")
        await self._lock.acquire()
        self._holder = task

    def release(self) -> None:
        self._holder = None
        self._lock.release()

    async def run(
        self, job: Callable[[Connection], T], rows: int = 1, *, urgent: bool = False
    ) -> T:
        """Run `job` in the next group; return its result once committed.
        `rows` is about how many rows it writes: a group stops growing at
        `max_rows`, so one commit never makes the writes behind it wait long.
        An `urgent` job (URGENT notifications) goes ahead of every job that is
        not, and urgent jobs are committed in a group of their own."""
        if self._task is None or self._task.done():
            # a context of its own: it outlives the request that happened to start
            # it, and must not log with that request's correlation id
            self._task = asyncio.create_task(
                self._loop(), name="sqlite-writer", context=contextvars.Context()
            )
        future = asyncio.get_running_loop().create_future()
        queued = _Queued(job, future, rows=max(1, rows), urgent=urgent)
        if urgent:
            ahead = next((i for i, q in enumerate(self._queue) if not q.urgent), len(self._queue))
            self._queue.insert(ahead, queued)
        else:
            self._queue.append(queued)
        self._arrived.set()
        result: T = await queued.done
        return result

    async def _loop(self) -> None:
        while True:
            await self._arrived.wait()
            if self._delay and not self._urgent_waiting() and self._rows_waiting() < self._max_rows:
                await asyncio.sleep(self._delay)
            async with self._lock:
                group = self._take_group()
                if not self._queue:
                    self._arrived.clear()
                if not group:
                    continue
                loop = asyncio.get_running_loop()
                try:
                    await loop.run_in_executor(self._thread, self._commit_group, group)
                except asyncio.CancelledError:
                    for queued in group:
                        queued.done.cancel()
                    raise
                except Exception as exc:  # the commit itself failed: nothing is stored
                    log.error("db.writer.commit_failed", jobs=len(group), error=type(exc).__name__)
                    for queued in group:
                        queued.error = queued.error or exc
            for queued in group:
                if queued.done.done():
                    continue
                if queued.error is not None:
                    queued.done.set_exception(queued.error)
                else:
                    queued.done.set_result(queued.result)

    def _urgent_waiting(self) -> bool:
        return bool(self._queue) and self._queue[0].urgent

    def _rows_waiting(self) -> int:
        return sum(q.rows for q in self._queue)

    def _take_group(self) -> list[_Queued]:
        """The oldest writes, up to `max_rows` (always at least one); only the
        urgent ones when any wait."""
        taken, rows = 0, 0
        urgent = self._urgent_waiting()
        for queued in self._queue:
            if taken and (rows + queued.rows > self._max_rows or queued.urgent is not urgent):
                break
            taken += 1
            rows += queued.rows
        group, self._queue = self._queue[:taken], self._queue[taken:]
        return group

    def _connect(self) -> Engine:
        if self._engine is None:
            engine = create_engine(
                f"sqlite:///{self._path}", isolation_level="AUTOCOMMIT", hide_parameters=True
            )
            event.listen(engine, "connect", sqlite_pragmas)
            event.listen(engine, "connect", _no_autocheckpoint)
            db_metrics.install(engine)
            self._engine = engine
        return self._engine

    def _commit_group(self, group: list[_Queued]) -> None:
        """On the writer's thread: one transaction for the group. The jobs run one
        after another with no savepoint between them; if one raises, the
        transaction is rolled back and the group runs again with a savepoint per
        job, so the failing job is rolled back alone and the others commit.
        A savepoint costs two statements a job, and each statement lets go of the
        GIL and waits to take it back from a busy event loop. The transaction
        statements go to the driver directly: through SQLAlchemy each cost tens
        of microseconds of this thread."""
        with self._connect().connect() as connection:
            raw = connection.connection.dbapi_connection
            assert raw is not None
            if not self._run_jobs(raw, connection, group, savepoints=False):
                self._run_jobs(raw, connection, group, savepoints=True)
            self.commits += 1
            if self._checkpoint is None or self._checkpoint.done():
                self._checkpoint = self._checkpointer.submit(_checkpoint, self._path)

    @staticmethod
    def _run_jobs(
        raw: Any, connection: Connection, group: list[_Queued], *, savepoints: bool
    ) -> bool:
        """Run the group in one transaction and commit it. Without savepoints, the
        first job that raises rolls everything back and this returns False."""
        raw.execute("BEGIN IMMEDIATE")
        try:
            for queued in group:
                queued.error = None
                if not savepoints:
                    try:
                        queued.result = queued.job(connection)
                    except Exception:
                        raw.execute("ROLLBACK")
                        return False
                    continue
                raw.execute("SAVEPOINT job")
                try:
                    queued.result = queued.job(connection)
                except Exception as exc:
                    raw.execute("ROLLBACK TO job")
                    queued.error = exc
                raw.execute("RELEASE job")
            raw.execute("COMMIT")
            return True
        except BaseException:
            with contextlib.suppress(Exception):
                raw.execute("ROLLBACK")
            raise

    async def close(self) -> None:
        if self._task is not None:
            if self._queue:  # jobs run in order: once this one is done, all are
                with contextlib.suppress(Exception):
                    await self.run(_nothing)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._engine is not None:
            engine, self._engine = self._engine, None
            await asyncio.get_running_loop().run_in_executor(self._thread, engine.dispose)
        self._thread.shutdown(wait=True)
        await asyncio.get_running_loop().run_in_executor(None, self._checkpointer.shutdown)


def _no_autocheckpoint(dbapi_connection: Any, _record: Any = None) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()


def _checkpoint(path: str) -> None:
    """On the checkpoint thread: let a few more commits land, then copy what the
    WAL holds into the database file, as far as no reader still needs it."""
    time.sleep(CHECKPOINT_EVERY)
    try:
        with contextlib.closing(sqlite3.connect(path, timeout=30)) as connection:
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
    except sqlite3.Error as exc:  # the next commit tries again
        log.warning("db.checkpoint.failed", error=type(exc).__name__)


def _nothing(_connection: Connection) -> None:
    return None


def sqlite_pragmas(dbapi_connection: Any, _record: Any = None) -> None:
    """For every connection to the file. WAL lets readers proceed while the
    writer writes; foreign keys are off in SQLite unless asked for on every
    connection. The busy timeout is for other processes only (a CLI command, a
    second `serve`): in this one, writers take turns before they reach SQLite."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
