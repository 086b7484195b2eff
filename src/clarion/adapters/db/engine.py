"""Engines, sessions and units of work for SQLite (embedded) and PostgreSQL.

PostgreSQL takes concurrent writers and commits them in groups itself, so
every unit of work is a plain session on one pooled engine.

SQLite has one writer. Its writes go through `SqliteWriter` (one connection
that commits whatever arrived meanwhile in one transaction). Three kinds of
unit of work share the file:
- *grouped* (accepting notifications, the delivery pipeline): reads on a
  read-only connection, batch writes through the writer;
- *exclusive* (everything else that writes: users, keys, cancel, sweeps): a
  session that holds the writer from its first statement to its end, so it
  never meets another writer inside SQLite;
- *reading*: read-only connections (WAL lets them read while the writer writes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Connection, event
from sqlalchemy.engine.url import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.util import await_

from clarion.adapters.db import metrics as db_metrics
from clarion.adapters.db.unit_of_work import SqlUnitOfWork
from clarion.adapters.db.writer import SqliteWriter, sqlite_pragmas
from clarion.adapters.db.writes import GroupedWrites, SessionWrites
from clarion.config import Settings

T = TypeVar("T")


class Database:
    def __init__(self, settings: Settings) -> None:
        # hide_parameters: a database error's text names the statement but not the
        # bound values (passwords, addresses), wherever that text ends up
        self.writer: SqliteWriter | None = None
        if settings.is_sqlite:
            path = make_url(settings.database_url).database or ":memory:"
            self.writer = SqliteWriter(
                path,
                delay=settings.sqlite_commit_delay_ms / 1000,
                max_rows=settings.sqlite_commit_max_rows,
            )
            self.engine = create_async_engine(
                settings.database_url, connect_args={"timeout": 30}, hide_parameters=True
            )
            event.listen(self.engine.sync_engine, "connect", sqlite_pragmas)
            _hold_writer_while_connected(self.engine, self.writer)
            self.reader = create_async_engine(
                settings.database_url, connect_args={"timeout": 30}, hide_parameters=True
            )
            event.listen(self.reader.sync_engine, "connect", _sqlite_reader_pragmas)
        else:
            self.engine = create_async_engine(
                settings.database_url,
                pool_size=settings.database_pool_size,
                max_overflow=settings.database_pool_size // 2,
                pool_pre_ping=True,
                hide_parameters=True,
            )
            self.reader = self.engine
        db_metrics.install(self.engine.sync_engine)
        if self.reader is not self.engine:
            db_metrics.install(self.reader.sync_engine)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.read_sessions = async_sessionmaker(self.reader, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def unit_of_work(self) -> SqlUnitOfWork:
        """A unit of work that may write anything (on SQLite: exclusive)."""
        session = self.sessions()
        return SqlUnitOfWork(session, self.sessions, SessionWrites(session))

    def grouped(self) -> SqlUnitOfWork:
        """A unit of work whose writes are the hot path's batch statements."""
        if self.writer is None:
            return self.unit_of_work()
        return SqlUnitOfWork(self.read_sessions(), self.sessions, GroupedWrites(self.writer))

    def reading(self) -> SqlUnitOfWork:
        """A unit of work that only reads."""
        if self.writer is None:
            return self.unit_of_work()
        session = self.read_sessions()
        return SqlUnitOfWork(session, self.sessions, SessionWrites(session))

    async def write(self, job: Callable[[Connection], T]) -> T:
        """Run one batch write and commit it."""
        if self.writer is not None:
            return await self.writer.run(job)
        async with self.sessions() as session:
            result = await session.run_sync(lambda sync: job(sync.connection()))
            await session.commit()
            return result

    async def close(self) -> None:
        if self.writer is not None:
            await self.writer.close()
            await self.reader.dispose()
        await self.engine.dispose()


def _hold_writer_while_connected(engine: AsyncEngine, writer: SqliteWriter) -> None:
    """A session of this engine holds the writer from its first statement until
    it gives its connection back (commit, rollback or close)."""

    def checkout(_dbapi: Any, record: Any, _proxy: Any) -> None:
        await_(writer.acquire())
        record.info["holds_writer"] = True

    def checkin(_dbapi: Any, record: Any) -> None:
        if record is not None and record.info.pop("holds_writer", False):
            writer.release()

    event.listen(engine.sync_engine.pool, "checkout", checkout)
    event.listen(engine.sync_engine.pool, "checkin", checkin)


def _sqlite_reader_pragmas(dbapi_connection: Any, record: Any) -> None:
    sqlite_pragmas(dbapi_connection, record)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA query_only=ON")
    cursor.close()
