"""Archival: finished notifications older than a cut-off, with their events,
move out of the live tables into compressed files in object storage; and
archived rows read back for exports.

One pass, chunk by chunk (at most `chunk_rows` notifications of one UTC day):
1. select the chunk's rows;
2. write its data file and manifest to the store;
3. read both back and check the data file's sha256;
4. in ONE transaction, register the file in `archive_files` and delete
   exactly those rows (only if none changed since step 1).

A process killed at any moment leaves each row in exactly one place: still in
the live tables, or in a registered file. A file written but never registered
(the process died between 2 and 4) is an orphan: it holds no row that left the
tables, and the next pass deletes it before it starts. Runs exclude each
other (`ArchiveLedger.exclusive`, plus a lock within this process).

Readers (`documents`) take registered files only, one at a time, check each
file's checksum, and give anonymised users' rows in their anonymised form.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from clarion.domain.anonymise import anonymised_event, anonymised_notification
from clarion.domain.archive import (
    ArchiveBusy,
    ArchiveFile,
    ArchiveRun,
    ArchiveStats,
    Chunk,
    Kind,
    Outcome,
    Trigger,
    archive_file,
    checksum,
    data_path,
    data_path_of,
    day_bounds,
    day_of,
    decode,
    encode,
    manifest_path,
    parse_time,
)
from clarion.domain.errors import ClarionError, Conflict
from clarion.domain.time import utcnow
from clarion.observability.logging import get_logger
from clarion.ports_archive import ArchiveLedger, ObjectStore

log = get_logger(__name__)

# a chunk whose rows changed while it was written is tried again this often,
# then its day waits for the next pass
ATTEMPTS_PER_CHUNK = 3


class ArchiveFailed(ClarionError):
    """The pass stopped (the store refused a write, a file read back wrong).
    What it had moved stays moved; the rest waits for the next pass."""

    status = 503
    code = "archive_failed"
    keeps_changes = True  # the audit entry of the attempt is kept


class CorruptArchive(Exception):
    """A stored file does not match its checksum."""


@dataclass
class Progress:
    """What a pass has moved so far (committed chunk by chunk)."""

    files: int = 0
    notifications: int = 0
    events: int = 0
    bytes: int = 0
    orphans_removed: int = 0

    def add(self, file: ArchiveFile) -> None:
        self.files += 1
        self.notifications += file.notifications
        self.events += file.events
        self.bytes += file.bytes

    def onto(self, run: ArchiveRun, outcome: Outcome, error: str | None = None) -> ArchiveRun:
        return replace(
            run,
            outcome=outcome,
            finished_at=utcnow(),
            files=self.files,
            notifications=self.notifications,
            events=self.events,
            bytes=self.bytes,
            orphans_removed=self.orphans_removed,
            error=error,
        )


class ArchiveService:
    def __init__(
        self,
        *,
        store: ObjectStore,
        ledger: ArchiveLedger,
        older_than_days: int,
        chunk_rows: int,
        every: timedelta | None,
    ) -> None:
        """`every`: how often the scheduler runs a pass (None: never)."""
        self.store = store
        self._ledger = ledger
        self.older_than_days = older_than_days
        self._chunk_rows = chunk_rows
        self._every = every
        self._lock = asyncio.Lock()

    async def run(
        self,
        trigger: Trigger,
        *,
        older_than_days: int | None = None,
        now: datetime | None = None,
    ) -> ArchiveRun:
        """One pass; Conflict when another is under way. A pass that fails is
        recorded as failed and raises ArchiveFailed."""
        if self._lock.locked():
            raise Conflict("An archive run is already in progress.")
        async with self._lock:
            try:
                async with self._ledger.exclusive():
                    return await self._locked_run(trigger, older_than_days, now or utcnow())
            except ArchiveBusy:
                raise Conflict("An archive run is already in progress.") from None

    async def run_if_due(self, now: datetime | None = None) -> ArchiveRun | None:
        """The scheduler's pass, when the last pass of any kind started at
        least `every` ago (or there was none)."""
        if self._every is None:
            return None
        now = now or utcnow()
        last = await self._ledger.last_run()
        if last is not None and now - last.started_at < self._every:
            return None
        try:
            return await self.run(Trigger.SCHEDULED, now=now)
        except Conflict:
            return None

    async def stats(self) -> ArchiveStats:
        return await self._ledger.stats()

    async def _locked_run(
        self, trigger: Trigger, older_than_days: int | None, now: datetime
    ) -> ArchiveRun:
        days = older_than_days or self.older_than_days
        run = ArchiveRun(
            id=uuid.uuid4(),
            trigger=trigger,
            started_at=now,
            older_than_days=days,
            cutoff=now - timedelta(days=days),
        )
        await self._ledger.start_run(run)
        log.info("archive.run.started", run_id=str(run.id), trigger=trigger.value, days=days)
        moved = Progress()
        try:
            moved.orphans_removed = await self._remove_orphans()
            await self._move_all(run, moved)
        except asyncio.CancelledError:
            # stopped with its process: what was moved stays moved
            error = "stopped with the process"
            await self._ledger.finish_run(moved.onto(run, Outcome.INTERRUPTED, error))
            raise
        except Exception as exc:
            reason = str(exc) if isinstance(exc, CorruptArchive) else type(exc).__name__
            await self._ledger.finish_run(moved.onto(run, Outcome.FAILED, reason))
            log.error("archive.run.failed", run_id=str(run.id), error=reason)
            raise ArchiveFailed(f"The archive run stopped: {reason}.") from exc
        run = moved.onto(run, Outcome.SUCCEEDED)
        await self._ledger.finish_run(run)
        log.info(
            "archive.run.finished",
            run_id=str(run.id),
            files=run.files,
            notifications=run.notifications,
            events=run.events,
        )
        return run

    async def _remove_orphans(self) -> int:
        """Delete what a dead run wrote and never registered. Only names shaped
        like archive files count: anything else under the prefix is left alone."""
        registered = await self._ledger.registered_paths()
        orphans = [
            name
            for name in await self.store.names()
            if (owner := data_path_of(name)) is not None and owner not in registered
        ]
        await self.store.delete(orphans)
        if orphans:
            log.info("archive.orphans.removed", count=len(orphans))
        return len(orphans)

    async def _move_all(self, run: ArchiveRun, moved: Progress) -> None:
        after: datetime | None = None  # days before this are done (or wait for the next pass)
        part, attempts = 0, 0
        while (oldest := await self._ledger.oldest_due(run.cutoff, after)) is not None:
            start, end = day_bounds(day_of(oldest))
            chunk = await self._ledger.chunk(start, min(end, run.cutoff), self._chunk_rows)
            file = None
            if chunk.notifications:  # else the rows changed meanwhile: look again
                part += 1
                file = await self._move(chunk, run, part)
            if file is not None:
                moved.add(file)
                attempts = 0
                continue
            attempts += 1
            if attempts >= ATTEMPTS_PER_CHUNK:
                log.warning("archive.day.deferred", day=start.date().isoformat())
                after, attempts = end, 0

    async def _move(self, chunk: Chunk, run: ArchiveRun, part: int) -> ArchiveFile | None:
        """Write, verify, then register and delete; None when the rows changed
        after they were read (the file is removed again, nothing moved)."""
        now = utcnow()
        path = data_path(day_of(parse_time(chunk.notifications[0]["createdAt"])), run.id, part)
        encoded = encode(chunk, path, run.id, now)
        await self.store.put(path, encoded.data)
        await self.store.put(manifest_path(path), encoded.manifest)
        await self._verify(path, encoded.sha256)
        file = archive_file(chunk, path, encoded, run.id, now)
        if await self._ledger.register(file, chunk.versions, chunk.event_ids):
            return file
        log.info("archive.chunk.changed", path=path)
        await self.store.delete([path, manifest_path(path)])
        return None

    async def _verify(self, path: str, sha256: str) -> None:
        stored = checksum(await self.store.get(path))
        manifest = json.loads(await self.store.get(manifest_path(path)))
        if stored != sha256 or manifest.get("sha256") != sha256:
            raise CorruptArchive(f"{path} did not read back as written")

    async def documents(
        self, kind: Kind, since: datetime | None, until: datetime | None
    ) -> AsyncIterator[dict[str, Any]]:
        """Archived documents of `kind` timed in [since, until) (`createdAt` of
        notifications, `timestamp` of events), file by file, oldest file first,
        in time order within a file. One file is in memory at a time."""
        wanted, field = ("notification", "createdAt")
        if kind == "events":
            wanted, field = ("event", "timestamp")
        anonymise = anonymised_notification if kind == "notifications" else anonymised_event
        for file in await self._ledger.files(kind, since, until):
            data = await self.store.get(file.path)
            if checksum(data) != file.sha256:
                raise CorruptArchive(f"{file.path} does not match its checksum")
            rows: list[tuple[datetime, dict[str, Any]]] = []
            for found, doc in decode(data):
                if found != wanted:
                    continue
                at = parse_time(doc[field])
                if (since is None or at >= since) and (until is None or at < until):
                    rows.append((at, doc))
            del data
            hidden = await self._ledger.anonymised(uuid.UUID(doc["userId"]) for _, doc in rows)
            for _, doc in sorted(rows, key=lambda row: (row[0], row[1]["id"])):
                yield anonymise(doc) if uuid.UUID(doc["userId"]) in hidden else doc
