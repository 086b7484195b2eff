"""Archive files: what one holds, how it is named, and its manifest. No I/O.

A data file is gzip-compressed NDJSON, one row a line, both kinds in one file:
each notification (`{"kind": "notification", ...document}`) followed by its
events (`{"kind": "event", ...document}`), the documents shaped exactly as
exports write them (`clarion.adapters.db.documents`). Beside it a manifest
(`<name>.manifest.json`) states the row counts, the time ranges, the data
file's size and its sha256.

Names are `<yyyy>/<mm>/<dd>/<yyyy-mm-dd>.<run id>.<part>.ndjson.gz`: the UTC
day of the notifications' `createdAt`, the run that wrote the file, and the
part of the day within that run. The run id makes every name unique, so a
file left behind by a run that died before registering it can never be taken
for a registered one.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from clarion.domain.enums import NotificationStatus

# a notification in any other status may still change: it is never archived
FINISHED = (
    NotificationStatus.SENT,
    NotificationStatus.FAILED,
    NotificationStatus.CANCELLED,
    NotificationStatus.NOT_SENT,
)
DATA_SUFFIX = ".ndjson.gz"
MANIFEST_SUFFIX = ".manifest.json"
FORMAT = "clarion-archive/1"

Kind = Literal["notifications", "events"]


class Trigger(StrEnum):
    MANUAL = "manual"
    SCHEDULED = "scheduled"


class Outcome(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # the process died; the next run says so


class ArchiveBusy(Exception):
    """Another archive run holds the lock."""


@dataclass(frozen=True)
class ArchiveFile:
    """A data file whose rows left the live tables; registered in one
    transaction with their deletion."""

    path: str
    day: date
    notifications: int
    events: int
    bytes: int
    sha256: str
    first_created_at: datetime
    last_created_at: datetime
    first_event_at: datetime | None
    last_event_at: datetime | None
    run_id: uuid.UUID
    created_at: datetime

    @property
    def manifest_path(self) -> str:
        return manifest_path(self.path)

    def overlaps(self, kind: Kind, since: datetime | None, until: datetime | None) -> bool:
        first, last = self.span(kind)
        if first is None or last is None:
            return False
        return (since is None or last >= since) and (until is None or first < until)

    def span(self, kind: Kind) -> tuple[datetime | None, datetime | None]:
        if kind == "notifications":
            return self.first_created_at, self.last_created_at
        return self.first_event_at, self.last_event_at


@dataclass(frozen=True)
class ArchiveRun:
    id: uuid.UUID
    trigger: Trigger
    started_at: datetime
    older_than_days: int
    cutoff: datetime
    outcome: Outcome = Outcome.RUNNING
    finished_at: datetime | None = None
    files: int = 0
    notifications: int = 0
    events: int = 0
    bytes: int = 0
    orphans_removed: int = 0
    error: str | None = None


@dataclass(frozen=True)
class ArchiveStats:
    files: int
    notifications: int
    events: int
    bytes: int
    oldest: datetime | None
    newest: datetime | None
    last_run: ArchiveRun | None


@dataclass(frozen=True)
class Chunk:
    """Finished notifications of one day (oldest first) and all their events."""

    notifications: list[dict[str, Any]]
    events: list[dict[str, Any]]

    @property
    def notification_ids(self) -> list[uuid.UUID]:
        return [uuid.UUID(doc["id"]) for doc in self.notifications]

    @property
    def versions(self) -> dict[uuid.UUID, str]:
        """Each notification's `updatedAt` as written: a row changed since (a
        late receipt, a re-drive) no longer matches and is not deleted."""
        return {uuid.UUID(doc["id"]): doc["updatedAt"] for doc in self.notifications}

    @property
    def event_ids(self) -> set[uuid.UUID]:
        return {uuid.UUID(doc["id"]) for doc in self.events}


@dataclass(frozen=True)
class Encoded:
    data: bytes
    manifest: bytes
    sha256: str


def day_of(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start, start + timedelta(days=1)


def data_path(day: date, run_id: uuid.UUID, part: int) -> str:
    return f"{day:%Y/%m/%d}/{day.isoformat()}.{run_id.hex}.{part:04d}{DATA_SUFFIX}"


def manifest_path(path: str) -> str:
    return path.removesuffix(DATA_SUFFIX) + MANIFEST_SUFFIX


def data_path_of(name: str) -> str | None:
    """The data file an object belongs to (itself or its manifest); None for an
    object that is neither."""
    if name.endswith(DATA_SUFFIX):
        return name
    if name.endswith(MANIFEST_SUFFIX):
        return name.removesuffix(MANIFEST_SUFFIX) + DATA_SUFFIX
    return None


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def time_range(docs: Sequence[dict[str, Any]], field: str) -> tuple[datetime, datetime] | None:
    times = [parse_time(doc[field]) for doc in docs]
    return (min(times), max(times)) if times else None


def lines(chunk: Chunk) -> Iterator[bytes]:
    by_notification: dict[str, list[dict[str, Any]]] = {}
    for event in chunk.events:
        by_notification.setdefault(event["notificationId"], []).append(event)
    for doc in chunk.notifications:
        yield _line("notification", doc)
        for event in by_notification.get(doc["id"], []):
            yield _line("event", event)


def _line(kind: str, doc: dict[str, Any]) -> bytes:
    return json.dumps({"kind": kind, **doc}, separators=(",", ":")).encode() + b"\n"


def encode(chunk: Chunk, path: str, run_id: uuid.UUID, now: datetime) -> Encoded:
    """The data file's bytes (gzip, fixed mtime) and its manifest."""
    data = gzip.compress(b"".join(lines(chunk)), compresslevel=6, mtime=0)
    digest = hashlib.sha256(data).hexdigest()
    manifest = {
        "format": FORMAT,
        "file": path.rsplit("/", 1)[-1],
        "day": day_of(parse_time(chunk.notifications[0]["createdAt"])).isoformat(),
        "runId": str(run_id),
        "createdAt": now.isoformat(),
        "compression": "gzip",
        "bytes": len(data),
        "sha256": digest,
        "notifications": _section(chunk.notifications, "createdAt"),
        "events": _section(chunk.events, "timestamp"),
    }
    body = json.dumps(manifest, indent=2).encode() + b"\n"
    return Encoded(data=data, manifest=body, sha256=digest)


def _section(docs: Sequence[dict[str, Any]], field: str) -> dict[str, Any]:
    span = time_range(docs, field)
    return {
        "rows": len(docs),
        "from": span[0].isoformat() if span else None,
        "to": span[1].isoformat() if span else None,
    }


def checksum(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def decode(data: bytes) -> Iterator[tuple[str, dict[str, Any]]]:
    """(kind, document) for every line of a data file, `kind` being
    `notification` or `event`."""
    for raw in gzip.decompress(data).splitlines():
        if raw:
            doc = json.loads(raw)
            yield doc.pop("kind"), doc


def archive_file(
    chunk: Chunk, path: str, encoded: Encoded, run_id: uuid.UUID, now: datetime
) -> ArchiveFile:
    created = time_range(chunk.notifications, "createdAt")
    assert created is not None  # a chunk always holds notifications
    events = time_range(chunk.events, "timestamp")
    return ArchiveFile(
        path=path,
        day=day_of(created[0]),
        notifications=len(chunk.notifications),
        events=len(chunk.events),
        bytes=len(encoded.data),
        sha256=encoded.sha256,
        first_created_at=created[0],
        last_created_at=created[1],
        first_event_at=events[0] if events else None,
        last_event_at=events[1] if events else None,
        run_id=run_id,
        created_at=now,
    )
