"""Archival: finished notifications older than the cut-off leave the live tables
for checksummed files, and nothing is lost or doubled, even when the process
is killed half-way. SQLite archives to the default folder beside its file;
PostgreSQL to an S3 bucket on a local S3-compatible server (moto)."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, update

from clarion.adapters.db.models import Anonymisation, ArchiveRunRow, Notification
from clarion.bootstrap import Container
from clarion.config import Settings
from clarion.domain.anonymise import pseudonym_of
from clarion.domain.archive import Outcome, Trigger, day_of, parse_time
from clarion.domain.enums import Receipt
from clarion.domain.time import utcnow
from clarion.worker.scheduler import archive_when_due
from tests.conftest import make_settings
from tests.support.archive import (
    Seeded,
    assert_each_row_in_one_place,
    live_documents,
    seed,
)
from tests.support.identity import add_user
from tests.support.s3 import MotoS3, aws_environment

CHUNK_ROWS = 5  # several files for most days
REPO = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def moto_s3() -> Iterator[MotoS3]:
    server = MotoS3().start()
    yield server
    server.stop()


@pytest.fixture
def settings(database_url: str, backend: str, request: pytest.FixtureRequest) -> Iterator[Settings]:
    values: dict[str, Any] = {"database_url": database_url, "archive_chunk_rows": CHUNK_ROWS}
    if backend == "postgresql":
        s3: MotoS3 = request.getfixturevalue("moto_s3")
        values["archive_url"] = f"s3://{s3.new_bucket()}/clarion/archive"
        values["archive_s3_endpoint"] = s3.endpoint
    with aws_environment():
        yield make_settings(**values)


async def users(container: Container, count: int = 2) -> list[uuid.UUID]:
    return [
        await add_user(container, f"archived-{n}-{uuid.uuid4().hex[:6]}@example.com")
        for n in range(count)
    ]


async def seeded_rows(container: Container, total: int = 3000) -> Seeded:
    return await seed(container, await users(container), now=utcnow(), total=total)


def by_id(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(docs, key=lambda d: str(d["id"]))


async def test_a_pass_moves_exactly_the_finished_notifications_older_than_the_cutoff(
    container: Container, backend: str, database_url: str
) -> None:
    seeded = await seeded_rows(container)
    live_before, events_before = await live_documents(container)
    due = seeded.due(90)
    due_events = seeded.events_of(due)
    old_unfinished = {
        nid
        for nid, at in seeded.notifications.items()
        if at < seeded.now - timedelta(days=90) and nid not in due
    }
    assert 800 < len(due) < 1500
    assert old_unfinished, "old rows that are not finished stay"

    run = await container.archive.run(Trigger.MANUAL, now=seeded.now)

    assert run.outcome is Outcome.SUCCEEDED
    assert (run.notifications, run.events) == (len(due), len(due_events))
    contents = await assert_each_row_in_one_place(container, seeded)
    assert {d["id"] for d in contents.notifications} == {str(i) for i in due}
    assert {d["id"] for d in contents.events} == {str(i) for i in due_events}
    live_after, _ = await live_documents(container)
    assert {str(i) for i in old_unfinished} <= set(live_after), "unfinished rows are kept"
    # the documents exactly as the live tables held them (the export shape)
    assert by_id(contents.notifications) == by_id([live_before[str(i)] for i in due])
    assert by_id(contents.events) == by_id([events_before[str(i)] for i in due_events])
    for row in contents.rows:
        docs = contents.per_file[row.path]
        manifest = contents.manifests[row.path]
        assert 1 <= len(docs) <= CHUNK_ROWS
        assert {day_of(parse_time(d["createdAt"])) for d in docs} == {row.day}, "one day a file"
        assert row.path.startswith(f"{row.day:%Y/%m/%d}/{row.day.isoformat()}.")
        assert manifest["notifications"]["rows"] == row.notification_rows == len(docs)
        assert manifest["events"]["rows"] == row.event_rows
        assert manifest["notifications"]["from"] == min(d["createdAt"] for d in docs)
        assert manifest["day"] == row.day.isoformat()
    assert contents.unregistered == []
    if backend == "sqlite":  # the embedded default: a folder beside the database file
        folder = Path(database_url.removeprefix("sqlite+aiosqlite:///")).parent / "archive"
        assert container.archive.store.location == folder.as_uri()
        assert len(list(folder.rglob("*.ndjson.gz"))) == len(contents.rows)
    else:
        assert container.archive.store.location.startswith("s3://")

    stats = await container.archive.stats()
    assert (stats.files, stats.notifications, stats.events) == (
        len(contents.rows),
        len(due),
        len(due_events),
    )
    assert stats.bytes == sum(row.size_bytes for row in contents.rows)
    assert stats.oldest == min(seeded.notifications[i] for i in due)
    assert stats.newest == max(seeded.notifications[i] for i in due)
    assert stats.last_run is not None
    assert stats.last_run.id == run.id

    again = await container.archive.run(Trigger.MANUAL, now=seeded.now)
    assert (again.files, again.notifications, again.orphans_removed) == (0, 0, 0)
    assert (await container.archive.stats()).files == len(contents.rows)


async def test_archived_rows_read_back_by_window_oldest_first_and_anonymised(
    container: Container,
) -> None:
    seeded = await seeded_rows(container, total=600)
    live_before, events_before = await live_documents(container)
    await container.archive.run(Trigger.MANUAL, now=seeded.now)
    erased, kept = {d["userId"] for d in live_before.values()}
    async with container.sessions() as session:
        pseudonym = pseudonym_of(uuid.UUID(erased))
        row = {"user_id": uuid.UUID(erased), "pseudonym": pseudonym, "rows": {}}
        await session.execute(insert(Anonymisation).values(**row, anonymised_at=utcnow()))
        await session.commit()
    since, until = seeded.now - timedelta(days=150), seeded.now - timedelta(days=100)

    read = [d async for d in container.archive.documents("notifications", since, until)]

    due = {str(i) for i in seeded.due(90)}
    expected = [
        d
        for i, d in live_before.items()
        if i in due and since <= parse_time(d["createdAt"]) < until
    ]
    assert by_id([d for d in read if d["userId"] == kept]) == by_id(
        [d for d in expected if d["userId"] == kept]
    )
    theirs = [d for d in read if d["userId"] == erased]
    assert len(theirs) == len([d for d in expected if d["userId"] == erased]) > 0
    for doc in theirs:
        original = live_before[doc["id"]]
        assert doc["payload"] == {"anonymised": True}
        assert doc["metadata"] is None
        assert doc["errorMessage"] in (None, "[anonymised]")
        assert (doc["status"], doc["createdAt"]) == (original["status"], original["createdAt"])
    assert "a@b.io" not in json.dumps(theirs)
    assert "Order" not in json.dumps(theirs)
    times = [d["createdAt"] for d in read]
    assert times == sorted(times), "oldest first"

    events = [d async for d in container.archive.documents("events", since, until)]
    expected_events = [
        d
        for d in events_before.values()
        if d["notificationId"] in due and since <= parse_time(d["timestamp"]) < until
    ]
    assert sorted(d["id"] for d in events) == sorted(d["id"] for d in expected_events)
    assert all(d["metadata"] is None for d in events if d["userId"] == erased)
    assert any(d["metadata"] is not None for d in events if d["userId"] == kept)


class ReceiptDuringFirstWrite:
    """The real store; while the first file is being written, a late receipt
    reaches the oldest archivable notification (as a provider webhook would)."""

    def __init__(self, container: Container, target: uuid.UUID) -> None:
        self._store = container.archive.store
        self._container = container
        self._target = target
        self.location = self._store.location
        self.fired = False

    async def put(self, name: str, data: bytes) -> None:
        if not self.fired:
            self.fired = True
            async with self._container.sessions() as session:
                await session.execute(
                    update(Notification)
                    .where(Notification.id == self._target)
                    .values(receipt=Receipt.DELIVERED, updated_at=utcnow())
                )
                await session.commit()
        await self._store.put(name, data)

    async def get(self, name: str) -> bytes:
        return await self._store.get(name)

    async def delete(self, names: list[str]) -> None:
        await self._store.delete(names)

    async def names(self) -> list[str]:
        return await self._store.names()


async def test_a_row_that_changes_while_its_file_is_written_is_archived_as_it_is_now(
    container: Container,
) -> None:
    seeded = await seeded_rows(container, total=300)
    oldest = min(seeded.due(90), key=lambda nid: seeded.notifications[nid])
    container.archive.store = ReceiptDuringFirstWrite(container, oldest)

    run = await container.archive.run(Trigger.MANUAL, now=seeded.now)

    assert run.notifications == len(seeded.due(90))
    contents = await assert_each_row_in_one_place(container, seeded)
    [archived] = [d for d in contents.notifications if d["id"] == str(oldest)]
    assert archived["receipt"] == "DELIVERED", "the receipt that came late is not lost"
    assert contents.unregistered == [], "the stale file was removed"


def child_settings(settings: Settings) -> dict[str, Any]:
    assert settings.jwt_secret is not None
    assert settings.webhook_secret is not None
    return {
        "database_url": settings.database_url,
        "archive_url": settings.archive_url,
        "archive_s3_endpoint": settings.archive_s3_endpoint,
        "archive_chunk_rows": settings.archive_chunk_rows,
        "jwt_secret": settings.jwt_secret.get_secret_value(),
        "webhook_secret": settings.webhook_secret.get_secret_value(),
    }


async def run_child_until_killed(settings: Settings, moment: str, count: int, now: datetime) -> str:
    """The pass in a real process that SIGKILLs itself (tests/support/archive_child.py)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.support.archive_child",
        json.dumps(child_settings(settings)),
        moment,
        str(count),
        now.isoformat(),
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == -signal.SIGKILL, output.decode()
    return output.decode()


async def kill_child_at_random(settings: Settings, now: datetime, delay: float) -> None:
    """The pass in a real process, SIGKILLed `delay` seconds after its first write."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.support.archive_child",
        json.dumps(child_settings(settings)),
        "any",
        "0",
        now.isoformat(),
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    async with asyncio.timeout(60):  # log lines come first
        while (line := await process.stdout.readline()) != b"writing\n":
            assert line, "the child ended before it wrote a file"
    await asyncio.sleep(delay)
    process.send_signal(signal.SIGKILL)
    await process.wait()
    assert process.returncode == -signal.SIGKILL, "the pass ended before the kill"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("moment", "left_behind"),
    [("written", 1), ("verified", 2)],
    ids=["after-writing-a-file", "after-verifying-before-commit"],
)
async def test_a_sigkill_mid_run_then_a_rerun_leaves_every_row_in_exactly_one_place(
    container: Container, settings: Settings, moment: str, left_behind: int
) -> None:
    seeded = await seeded_rows(container)
    await run_child_until_killed(settings, moment, 7, seeded.now)

    killed = await assert_each_row_in_one_place(container, seeded)
    assert len(killed.rows) == 6, "six files were registered before the kill"
    assert len(killed.unregistered) == left_behind, killed.unregistered
    assert {d["id"] for d in killed.notifications} < {str(i) for i in seeded.due(90)}
    last = (await container.archive.stats()).last_run
    assert last is not None
    assert last.outcome is Outcome.RUNNING

    rerun = await container.archive.run(Trigger.MANUAL, now=seeded.now)

    assert rerun.outcome is Outcome.SUCCEEDED
    assert rerun.orphans_removed == left_behind
    after = await assert_each_row_in_one_place(container, seeded)
    assert {d["id"] for d in after.notifications} == {str(i) for i in seeded.due(90)}
    assert after.unregistered == []
    async with container.database.read_sessions() as session:
        outcomes = Counter(await session.scalars(select(ArchiveRunRow.outcome)))
    assert outcomes == {Outcome.INTERRUPTED: 1, Outcome.SUCCEEDED: 1}


async def test_a_pass_left_running_by_a_dead_process_does_not_block_the_next(
    container: Container,
) -> None:
    """The lock dies with its holder: a run row still marked running is no lock."""
    seeded = await seeded_rows(container, total=200)
    first = await container.archive.run(Trigger.MANUAL, now=seeded.now - timedelta(days=60))
    async with container.sessions() as session:
        await session.execute(
            ArchiveRunRow.__table__.update().values(outcome=Outcome.RUNNING, finished_at=None)
        )
        await session.commit()
    second = await container.archive.run(Trigger.MANUAL, now=seeded.now)
    assert first.notifications == len(seeded.due(150))
    assert second.notifications == len(seeded.due(90)) - len(seeded.due(150))
    await assert_each_row_in_one_place(container, seeded)
    async with container.database.read_sessions() as session:
        outcomes = Counter(await session.scalars(select(ArchiveRunRow.outcome)))
    assert outcomes == {Outcome.INTERRUPTED: 1, Outcome.SUCCEEDED: 1}


async def test_the_scheduler_runs_a_pass_when_one_is_due_and_not_again_within_the_interval(
    container: Container,
) -> None:
    seeded = await seed(container, await users(container), now=utcnow(), total=200)
    stop = asyncio.Event()
    task = asyncio.create_task(archive_when_due(container.archive, stop, check_every=0.02))
    try:
        for _ in range(600):  # 30 s at most
            last = (await container.archive.stats()).last_run
            if last is not None and last.outcome is not Outcome.RUNNING:
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await task
    assert last is not None
    assert last.trigger is Trigger.SCHEDULED
    assert last.outcome is Outcome.SUCCEEDED
    assert last.notifications == len(seeded.due(90))
    assert await container.archive.run_if_due() is None, "a day has not passed"
    assert await container.archive.run_if_due(utcnow() + timedelta(days=1, minutes=1))


def test_archive_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="archive_url"):
        make_settings(archive_url="/relative/folder")
    with pytest.raises(ValueError, match="archive_after_days"):
        make_settings(archive_after_days=0)
    quiet = make_settings(archive_interval_hours=0)
    assert quiet.archive_interval_hours == 0


@pytest.mark.slow
async def test_a_sigkill_at_a_random_moment_then_a_rerun_loses_and_doubles_nothing(
    container: Container, settings: Settings
) -> None:
    seeded = await seeded_rows(container)
    delay = random.Random().uniform(0.05, 0.6)
    await kill_child_at_random(settings, seeded.now, delay)

    killed = await assert_each_row_in_one_place(container, seeded)
    assert len(killed.notifications) < len(seeded.due(90)), f"killed after {delay:.2f} s"

    await container.archive.run(Trigger.MANUAL, now=seeded.now)
    after = await assert_each_row_in_one_place(container, seeded)
    assert {d["id"] for d in after.notifications} == {str(i) for i in seeded.due(90)}
    assert after.unregistered == []
