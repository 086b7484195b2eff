"""The database's side of archival (see `clarion.ports_archive.ArchiveLedger`).

Each method is a short transaction of its own: a run commits once per chunk,
so what it has moved stays moved whatever happens to the rest of the run. On
SQLite every writing transaction holds the process's one writer (a session of
`Database.sessions`); reads use the read-only connections.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, text, update

from clarion.adapters.db.documents import (
    EVENT_FIELDS,
    NOTIFICATION_FIELDS,
    columns,
    document,
    plain,
)
from clarion.adapters.db.engine import Database
from clarion.adapters.db.models import (
    Anonymisation,
    ArchiveFileRow,
    ArchiveRunRow,
    Event,
    Notification,
)
from clarion.domain.archive import (
    FINISHED,
    ArchiveBusy,
    ArchiveFile,
    ArchiveRun,
    ArchiveStats,
    Chunk,
    Kind,
    Outcome,
    Trigger,
)

# pg_advisory_lock key of the archive run: any fixed number no other lock uses
ARCHIVE_LOCK = 0x61726368697665  # "archive"
IN_LIST = 1000  # ids per IN (...) when the list has no bound of its own


class SqlArchiveLedger:
    def __init__(self, database: Database) -> None:
        self._db = database

    @asynccontextmanager
    async def exclusive(self) -> AsyncIterator[None]:
        """PostgreSQL: a session-level advisory lock on a connection held for the
        run, released by PostgreSQL itself if the process dies. SQLite has one
        process writing; the service's own lock covers it."""
        if self._db.dialect != "postgresql":
            yield
            return
        async with self._db.engine.connect() as connection:
            taken = await connection.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": ARCHIVE_LOCK}
            )
            await connection.commit()
            if not taken:
                raise ArchiveBusy
            try:
                yield
            finally:
                try:
                    await connection.execute(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": ARCHIVE_LOCK}
                    )
                    await connection.commit()
                except BaseException:
                    # a pooled connection must never keep the lock
                    await connection.invalidate()
                    raise

    async def oldest_due(self, cutoff: datetime, after: datetime | None) -> datetime | None:
        query = (
            select(Notification.created_at)
            .where(Notification.status.in_(FINISHED), Notification.created_at < cutoff)
            .order_by(Notification.created_at)
            .limit(1)
        )
        if after is not None:
            query = query.where(Notification.created_at >= after)
        async with self._db.read_sessions() as session:
            found: datetime | None = await session.scalar(query)
            return found

    async def chunk(self, start: datetime, end: datetime, limit: int) -> Chunk:
        async with self._db.read_sessions() as session:
            rows = (
                await session.execute(
                    select(*columns(NOTIFICATION_FIELDS))
                    .where(
                        Notification.status.in_(FINISHED),
                        Notification.created_at >= start,
                        Notification.created_at < end,
                    )
                    .order_by(Notification.created_at, Notification.id)
                    .limit(limit)
                )
            ).all()
            ids = [row[0] for row in rows]
            events = (
                await session.execute(
                    select(*columns(EVENT_FIELDS))
                    .where(Event.notification_id.in_(ids))
                    .order_by(Event.timestamp, Event.id)
                )
            ).all()
        return Chunk(
            notifications=[document(NOTIFICATION_FIELDS, row) for row in rows],
            events=[document(EVENT_FIELDS, row) for row in events],
        )

    async def register(
        self, file: ArchiveFile, versions: Mapping[uuid.UUID, str], event_ids: set[uuid.UUID]
    ) -> bool:
        ids = list(versions)
        async with self._db.sessions() as session, session.begin():
            # FOR UPDATE: no receipt, re-drive or new event lands between the check and the delete
            found = (
                await session.execute(
                    select(Notification.id, Notification.updated_at)
                    .where(Notification.id.in_(ids), Notification.status.in_(FINISHED))
                    .with_for_update()
                )
            ).all()
            if {nid: plain(at) for nid, at in found} != dict(versions):
                await session.rollback()
                return False
            events = set(
                await session.scalars(select(Event.id).where(Event.notification_id.in_(ids)))
            )
            if events != event_ids:
                await session.rollback()
                return False
            await session.execute(insert(ArchiveFileRow).values(**file_values(file)))
            await session.execute(delete(Event).where(Event.notification_id.in_(ids)))
            await session.execute(delete(Notification).where(Notification.id.in_(ids)))
        return True

    async def registered_paths(self) -> set[str]:
        async with self._db.read_sessions() as session:
            return set(await session.scalars(select(ArchiveFileRow.path)))

    async def files(
        self, kind: Kind, since: datetime | None, until: datetime | None
    ) -> list[ArchiveFile]:
        first, last = (
            (ArchiveFileRow.first_created_at, ArchiveFileRow.last_created_at)
            if kind == "notifications"
            else (ArchiveFileRow.first_event_at, ArchiveFileRow.last_event_at)
        )
        query = (
            select(ArchiveFileRow).where(first.is_not(None)).order_by(first, ArchiveFileRow.path)
        )
        if since is not None:
            query = query.where(last >= since)
        if until is not None:
            query = query.where(first < until)
        async with self._db.read_sessions() as session:
            return [archive_file(row) for row in await session.scalars(query)]

    async def anonymised(self, user_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        wanted = list(set(user_ids))
        found: set[uuid.UUID] = set()
        async with self._db.read_sessions() as session:
            for start in range(0, len(wanted), IN_LIST):
                part = wanted[start : start + IN_LIST]
                found |= set(
                    await session.scalars(
                        select(Anonymisation.user_id).where(Anonymisation.user_id.in_(part))
                    )
                )
        return found

    async def start_run(self, run: ArchiveRun) -> None:
        async with self._db.sessions() as session, session.begin():
            await session.execute(
                update(ArchiveRunRow)
                .where(ArchiveRunRow.outcome == Outcome.RUNNING)
                .values(outcome=Outcome.INTERRUPTED, error="the process stopped during the run")
            )
            await session.execute(insert(ArchiveRunRow).values(**run_values(run)))

    async def finish_run(self, run: ArchiveRun) -> None:
        values = run_values(run)
        del values["id"]
        async with self._db.sessions() as session, session.begin():
            await session.execute(
                update(ArchiveRunRow).where(ArchiveRunRow.id == run.id).values(**values)
            )

    async def last_run(self, *, trigger: str | None = None) -> ArchiveRun | None:
        query = select(ArchiveRunRow).order_by(ArchiveRunRow.started_at.desc()).limit(1)
        if trigger is not None:
            query = query.where(ArchiveRunRow.trigger == Trigger(trigger))
        async with self._db.read_sessions() as session:
            row = await session.scalar(query)
            return archive_run(row) if row is not None else None

    async def stats(self) -> ArchiveStats:
        f = ArchiveFileRow
        async with self._db.read_sessions() as session:
            totals = (
                await session.execute(
                    select(
                        func.count(),
                        func.coalesce(func.sum(f.notification_rows), 0),
                        func.coalesce(func.sum(f.event_rows), 0),
                        func.coalesce(func.sum(f.size_bytes), 0),
                    )
                )
            ).one()
            # min() and max() keep the column's type: aware UTC times on SQLite too
            oldest = await session.scalar(select(func.min(f.first_created_at)))
            newest = await session.scalar(select(func.max(f.last_created_at)))
        return ArchiveStats(
            files=int(totals[0]),
            notifications=int(totals[1]),
            events=int(totals[2]),
            bytes=int(totals[3]),
            oldest=oldest,
            newest=newest,
            last_run=await self.last_run(),
        )


def file_values(file: ArchiveFile) -> dict[str, Any]:
    return {
        "path": file.path,
        "day": file.day,
        "run_id": file.run_id,
        "notification_rows": file.notifications,
        "event_rows": file.events,
        "size_bytes": file.bytes,
        "sha256": file.sha256,
        "first_created_at": file.first_created_at,
        "last_created_at": file.last_created_at,
        "first_event_at": file.first_event_at,
        "last_event_at": file.last_event_at,
        "created_at": file.created_at,
    }


def archive_file(row: ArchiveFileRow) -> ArchiveFile:
    return ArchiveFile(
        path=row.path,
        day=row.day,
        notifications=row.notification_rows,
        events=row.event_rows,
        bytes=row.size_bytes,
        sha256=row.sha256,
        first_created_at=row.first_created_at,
        last_created_at=row.last_created_at,
        first_event_at=row.first_event_at,
        last_event_at=row.last_event_at,
        run_id=row.run_id,
        created_at=row.created_at,
    )


def run_values(run: ArchiveRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "trigger": run.trigger,
        "outcome": run.outcome,
        "older_than_days": run.older_than_days,
        "cutoff": run.cutoff,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "files": run.files,
        "notification_rows": run.notifications,
        "event_rows": run.events,
        "size_bytes": run.bytes,
        "orphans_removed": run.orphans_removed,
        "error": run.error,
    }


def archive_run(row: ArchiveRunRow) -> ArchiveRun:
    return ArchiveRun(
        id=row.id,
        trigger=Trigger(row.trigger),
        started_at=row.started_at,
        older_than_days=row.older_than_days,
        cutoff=row.cutoff,
        outcome=Outcome(row.outcome),
        finished_at=row.finished_at,
        files=row.files,
        notifications=row.notification_rows,
        events=row.event_rows,
        bytes=row.size_bytes,
        orphans_removed=row.orphans_removed,
        error=row.error,
    )
