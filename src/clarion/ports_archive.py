"""The ports archival needs (kept beside `ports.py`): where archive files live,
and what the database keeps about them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol

from clarion.domain.archive import ArchiveFile, ArchiveRun, ArchiveStats, Chunk, Kind


class ObjectStore(Protocol):
    """Named byte objects: a local folder (embedded) or an S3-compatible bucket.

    `put` returns once the object is durably stored (a local file is synced to
    disk) and replaces any object of that name whole; `get` raises
    `FileNotFoundError` for a name that holds nothing; `names` lists every
    object under the store's root, in no particular order.
    """

    location: str

    async def put(self, name: str, data: bytes) -> None: ...

    async def get(self, name: str) -> bytes: ...

    async def delete(self, names: list[str]) -> None: ...

    async def names(self) -> list[str]: ...


class ArchiveLedger(Protocol):
    """The database's side of archival: finished rows to archive, the files that
    hold archived rows, and the runs.

    `register` is the one step that moves rows: in one transaction it records
    the file and deletes exactly the rows written to it, and only if none of
    them changed since they were read (else nothing happens and it returns
    False). `exclusive` holds the archive lock of every process sharing the
    database for as long as the block runs; it raises `ArchiveBusy` at once
    when another run holds it.
    """

    def exclusive(self) -> AbstractAsyncContextManager[None]: ...

    async def oldest_due(self, cutoff: datetime, after: datetime | None) -> datetime | None:
        """`createdAt` of the oldest finished notification created before
        `cutoff` (and not before `after`)."""

    async def chunk(self, start: datetime, end: datetime, limit: int) -> Chunk:
        """Up to `limit` finished notifications created in [start, end), oldest
        first, with every event of theirs."""

    async def register(
        self, file: ArchiveFile, versions: Mapping[uuid.UUID, str], event_ids: set[uuid.UUID]
    ) -> bool: ...

    async def registered_paths(self) -> set[str]: ...

    async def files(
        self, kind: Kind, since: datetime | None, until: datetime | None
    ) -> list[ArchiveFile]:
        """Registered files holding rows of `kind` timed in [since, until), oldest first."""

    async def anonymised(self, user_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]: ...

    async def start_run(self, run: ArchiveRun) -> None:
        """Record the run; runs still marked running died with their process
        (the lock is held) and become interrupted."""

    async def finish_run(self, run: ArchiveRun) -> None: ...

    async def last_run(self, *, trigger: str | None = None) -> ArchiveRun | None: ...

    async def stats(self) -> ArchiveStats: ...
