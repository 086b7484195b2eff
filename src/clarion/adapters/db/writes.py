"""Where a unit of work's batch writes go.

The hot path's writes are plain functions over a synchronous connection
(`batch_sql`). On PostgreSQL, and for SQLite's exclusive units of work, they
run at once in the unit of work's own transaction. In SQLite's grouped units
of work they go to the process's one writer: a write whose result is not
needed waits for the unit of work's commit; one whose result is needed takes
every waiting write of its unit with it, in one job, and commits them together.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from clarion.adapters.db.writer import SqliteWriter
from clarion.ports import WriteConflict

T = TypeVar("T")

# PostgreSQL's deadlock_detected and serialization_failure: the transaction is
# rolled back and may be run again
RETRYABLE = frozenset({"40P01", "40001"})


class Writes(Protocol):
    async def now(self, job: Callable[[Connection], T], rows: int = 1) -> T:
        """Run `job` now (with the writes waiting before it) and return its result.
        `rows`: about how many rows it writes."""

    async def later(self, job: Callable[[Connection], Any], rows: int = 1) -> None:
        """Run `job` with the unit of work's commit, or sooner."""

    async def flush(self) -> None:
        """Write what is waiting; on the writer, this commits it."""

    def discard(self) -> None: ...

    def hurry(self) -> None:
        """Let these writes go ahead of others waiting (URGENT work)."""


class SessionWrites:
    """In the session's own transaction, at once."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def now(self, job: Callable[[Connection], T], rows: int = 1) -> T:
        try:
            return await self._session.run_sync(lambda sync: job(sync.connection()))
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) in RETRYABLE:
                raise WriteConflict(type(exc.orig).__name__) from exc
            raise

    async def later(self, job: Callable[[Connection], Any], rows: int = 1) -> None:
        await self.now(job)

    async def flush(self) -> None:
        return None

    def discard(self) -> None:
        return None

    def hurry(self) -> None:
        return None  # PostgreSQL and exclusive units: nothing waits in line


class GroupedWrites:
    """Through SQLite's writer, committed in a group with other units' writes."""

    def __init__(self, writer: SqliteWriter) -> None:
        self._writer = writer
        self._waiting: list[Callable[[Connection], Any]] = []
        self._rows = 0
        self._urgent = False

    async def now(self, job: Callable[[Connection], T], rows: int = 1) -> T:
        waiting, self._waiting = self._waiting, []
        rows, self._rows = rows + self._rows, 0

        def together(connection: Connection) -> T:
            for earlier in waiting:
                earlier(connection)
            return job(connection)

        return await self._writer.run(together, rows, urgent=self._urgent)

    async def later(self, job: Callable[[Connection], Any], rows: int = 1) -> None:
        self._waiting.append(job)
        self._rows += rows

    async def flush(self) -> None:
        if self._waiting:
            await self.now(lambda _connection: None, 0)

    def discard(self) -> None:
        self._waiting.clear()
        self._rows = 0

    def hurry(self) -> None:
        self._urgent = True
