"""Archive tests' data and checks: notifications written straight to the
database with chosen creation times, and where each row is afterwards (the
live tables, or a file registered in `archive_files`)."""

from __future__ import annotations

import json
import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select

from clarion.adapters.db.documents import EVENT_FIELDS, NOTIFICATION_FIELDS, columns, document
from clarion.adapters.db.models import ArchiveFileRow, Event, Notification
from clarion.bootstrap import Container
from clarion.domain.archive import FINISHED, checksum, decode, manifest_path
from clarion.domain.enums import Channel, EventType, NotificationStatus, NotificationType

S = NotificationStatus
# every status, finished or not, in a fixed mix
STATUSES = [S.SENT, S.SENT, S.FAILED, S.CANCELLED, S.NOT_SENT, S.PENDING, S.SCHEDULED, S.PROCESSING]
FOLLOWING = {
    S.SENT: [EventType.SENT, EventType.DELIVERED],
    S.FAILED: [EventType.RETRIED, EventType.FAILED],
    S.CANCELLED: [EventType.CANCELLED],
    S.NOT_SENT: [EventType.NOT_SENT],
    S.SCHEDULED: [EventType.SCHEDULED],
}


@dataclass
class Seeded:
    now: datetime
    notifications: dict[uuid.UUID, datetime] = field(default_factory=dict)  # id → created_at
    statuses: dict[uuid.UUID, S] = field(default_factory=dict)
    events: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)  # event id → notification

    def due(self, days: int) -> set[uuid.UUID]:
        """Finished and created before `days` before `now`: what a pass moves."""
        cutoff = self.now - timedelta(days=days)
        return {
            nid
            for nid, at in self.notifications.items()
            if self.statuses[nid] in FINISHED and at < cutoff
        }

    def events_of(self, ids: set[uuid.UUID]) -> set[uuid.UUID]:
        return {eid for eid, nid in self.events.items() if nid in ids}


async def seed(
    container: Container,
    users: list[uuid.UUID],
    *,
    now: datetime,
    total: int = 3000,
    days: int = 200,
    rng_seed: int = 13,
) -> Seeded:
    """`total` notifications created over the last `days` days (none within a
    minute of a whole day, so no cut-off meets one), each with a CREATED event
    and the events its status implies, a few seconds apart."""
    rng = random.Random(rng_seed)
    seeded = Seeded(now=now)
    notifications: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for n in range(total):
        age = timedelta(days=rng.randrange(days), minutes=rng.randrange(1, 1439))
        created = now - age
        status = STATUSES[n % len(STATUSES)]
        nid = uuid.uuid4()
        user = users[n % len(users)]
        channel = rng.choice([Channel.EMAIL, Channel.SMS, Channel.IN_APP])
        notifications.append(
            {
                "id": nid,
                "user_id": user,
                "channel": channel,
                "type": NotificationType.TRANSACTIONAL,
                "status": status,
                "payload": {"subject": f"Order {n}", "body": "Your order shipped", "to": "a@b.io"},
                "metadata_": {"order": n},
                "error_message": "mailbox full" if status is S.FAILED else None,
                "attempts": 1,
                "created_at": created,
                "updated_at": created + timedelta(seconds=5),
            }
        )
        seeded.notifications[nid] = created
        seeded.statuses[nid] = status
        for step, kind in enumerate([EventType.CREATED, *FOLLOWING.get(status, [])]):
            eid = uuid.uuid4()
            events.append(
                {
                    "id": eid,
                    "notification_id": nid,
                    "user_id": user,
                    "type": kind,
                    "status": status,
                    "channel": channel,
                    "metadata_": {"step": step},
                    "timestamp": created + timedelta(seconds=2 * step),
                }
            )
            seeded.events[eid] = nid
    async with container.sessions() as session:
        for start in range(0, total, 500):
            await session.execute(insert(Notification), notifications[start : start + 500])
        for start in range(0, len(events), 1000):
            await session.execute(insert(Event), events[start : start + 1000])
        await session.commit()
    return seeded


async def live_documents(container: Container) -> tuple[dict[str, Any], dict[str, Any]]:
    """Every notification and event in the live tables, as documents by id."""
    async with container.database.read_sessions() as session:
        notifications = await session.execute(select(*columns(NOTIFICATION_FIELDS)))
        events = await session.execute(select(*columns(EVENT_FIELDS)))
        return (
            {str(r[0]): document(NOTIFICATION_FIELDS, r) for r in notifications},
            {str(r[0]): document(EVENT_FIELDS, r) for r in events},
        )


@dataclass
class ArchiveContents:
    """What the registered files hold, read straight from the store."""

    notifications: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    rows: list[ArchiveFileRow] = field(default_factory=list)
    manifests: dict[str, dict[str, Any]] = field(default_factory=dict)
    per_file: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # notifications
    unregistered: list[str] = field(default_factory=list)

    def duplicates(self) -> list[str]:
        seen = Counter(d["id"] for d in [*self.notifications, *self.events])
        return [i for i, n in seen.items() if n > 1]


async def archive_contents(container: Container) -> ArchiveContents:
    """Every registered file read back, its sha256 checked against both the
    database and its manifest; and the store's objects no file row claims."""
    store = container.archive.store
    contents = ArchiveContents()
    async with container.database.read_sessions() as session:
        contents.rows = list(await session.scalars(select(ArchiveFileRow)))
    for row in contents.rows:
        data = await store.get(row.path)
        manifest = json.loads(await store.get(manifest_path(row.path)))
        assert checksum(data) == row.sha256 == manifest["sha256"], row.path
        assert len(data) == row.size_bytes == manifest["bytes"], row.path
        contents.manifests[row.path] = manifest
        contents.per_file[row.path] = []
        for kind, doc in decode(data):
            if kind == "notification":
                contents.notifications.append(doc)
                contents.per_file[row.path].append(doc)
            else:
                contents.events.append(doc)
    claimed = {row.path for row in contents.rows} | {manifest_path(r.path) for r in contents.rows}
    contents.unregistered = sorted(set(await store.names()) - claimed)
    return contents


async def assert_each_row_in_one_place(container: Container, seeded: Seeded) -> ArchiveContents:
    """Every seeded notification and event is either live or in exactly one
    registered file: none lost, none twice."""
    live_n, live_e = await live_documents(container)
    contents = await archive_contents(container)
    assert contents.duplicates() == [], "rows archived twice"
    archived_n = {d["id"] for d in contents.notifications}
    archived_e = {d["id"] for d in contents.events}
    assert archived_n.isdisjoint(live_n), "notifications both live and archived"
    assert archived_e.isdisjoint(live_e), "events both live and archived"
    assert archived_n | set(live_n) == {str(i) for i in seeded.notifications}, "lost"
    assert archived_e | set(live_e) == {str(i) for i in seeded.events}, "events lost"
    return contents
