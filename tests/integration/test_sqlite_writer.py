"""SQLite's one writer: writes that arrive during a commit share the next one,
a failing write rolls back alone, and an exclusive holder keeps groups out."""

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlalchemy import Connection

from clarion.adapters.db.writer import SqliteWriter


@pytest.fixture
async def writer(tmp_path: Path) -> AsyncIterator[SqliteWriter]:
    made = SqliteWriter(str(tmp_path / "writer.db"))
    await made.run(lambda c: c.exec_driver_sql("CREATE TABLE t (v INTEGER PRIMARY KEY)"))
    yield made
    await made.close()


def insert(value: int) -> Callable[[Connection], int]:
    def job(connection: Connection) -> int:
        connection.exec_driver_sql("INSERT INTO t (v) VALUES (?)", (value,))
        return value

    return job


def stored(writer_path: Path) -> list[int]:
    with sqlite3.connect(writer_path) as connection:
        return [row[0] for row in connection.execute("SELECT v FROM t ORDER BY v")]


async def test_writes_queued_during_a_commit_share_the_next_one(
    writer: SqliteWriter, tmp_path: Path
) -> None:
    release = threading.Event()

    def slow(connection: Connection) -> None:
        connection.exec_driver_sql("INSERT INTO t (v) VALUES (0)")
        release.wait(5)

    first = asyncio.create_task(writer.run(slow))
    await asyncio.sleep(0.05)  # the first group is on the writer's thread now
    before = writer.commits
    others = [asyncio.create_task(writer.run(insert(v))) for v in range(1, 51)]
    await asyncio.sleep(0.05)
    release.set()
    assert await asyncio.gather(*others) == list(range(1, 51))
    await first
    assert writer.commits - before == 2  # the slow one's, then all fifty together
    assert stored(tmp_path / "writer.db") == list(range(51))


async def test_a_failing_write_rolls_back_alone(writer: SqliteWriter, tmp_path: Path) -> None:
    def half_then_fail(connection: Connection) -> None:
        connection.exec_driver_sql("INSERT INTO t (v) VALUES (100)")
        raise ValueError("refused")

    results = await asyncio.gather(
        writer.run(insert(1)),
        writer.run(half_then_fail),
        writer.run(insert(2)),
        return_exceptions=True,
    )
    assert results[0] == 1
    assert results[2] == 2
    assert isinstance(results[1], ValueError)
    assert stored(tmp_path / "writer.db") == [1, 2]


async def test_a_group_with_a_failing_write_commits_the_others_once_and_in_one_commit(
    writer: SqliteWriter, tmp_path: Path
) -> None:
    """A group runs without savepoints; when a job raises, it is rolled back and
    run again with one. What the jobs before the failure did the first time is
    not kept: each of them counts once, their results are those committed."""
    await writer.run(lambda c: c.exec_driver_sql("CREATE TABLE n (k INTEGER)"))
    await writer.run(lambda c: c.exec_driver_sql("INSERT INTO n (k) VALUES (0)"))

    def count(connection: Connection) -> int:
        connection.exec_driver_sql("UPDATE n SET k = k + 1")
        return int(connection.exec_driver_sql("SELECT k FROM n").scalar_one())

    def fail(connection: Connection) -> None:
        connection.exec_driver_sql("UPDATE n SET k = k + 100")
        raise ValueError("refused")

    release = threading.Event()
    first = asyncio.create_task(writer.run(lambda c: release.wait(5)))
    await asyncio.sleep(0.05)  # the rest queue up behind it, for one group
    before = writer.commits
    jobs = [count, count, fail, count]
    results = asyncio.gather(*(writer.run(job) for job in jobs), return_exceptions=True)
    await asyncio.sleep(0.05)
    release.set()
    await first
    done = await results
    assert done[:2] == [1, 2]
    assert isinstance(done[2], ValueError)
    assert done[3] == 3
    assert writer.commits - before == 2  # the slow one's, then the four together
    with sqlite3.connect(tmp_path / "writer.db") as connection:
        assert connection.execute("SELECT k FROM n").fetchone() == (3,)


async def test_no_group_runs_while_the_writer_is_held(writer: SqliteWriter, tmp_path: Path) -> None:
    await writer.acquire()
    try:
        queued = asyncio.create_task(writer.run(insert(7)))
        await asyncio.sleep(0.1)
        assert not queued.done()
        assert stored(tmp_path / "writer.db") == []
    finally:
        writer.release()
    assert await queued == 7


async def test_holding_the_writer_twice_in_one_task_fails_at_once(writer: SqliteWriter) -> None:
    await writer.acquire()
    try:
        with pytest.raises(RuntimeError, match="already holds"):
            await writer.acquire()
    finally:
        writer.release()


def in_database_file(path: Path) -> int:
    """Rows the database file itself holds, leaving the WAL aside."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?immutable=1", uri=True)) as connection:
        try:
            return int(connection.execute("SELECT count(*) FROM t").fetchone()[0])
        except sqlite3.OperationalError:  # not even the table has reached it
            return 0


async def test_commits_reach_the_database_file_from_the_checkpoint_thread(
    writer: SqliteWriter, tmp_path: Path
) -> None:
    """The writer's own connection never checkpoints (that stall would fall on
    a commit group); the checkpoint thread copies the WAL into the file soon
    after, so the WAL does not grow for as long as writes keep coming."""
    for value in range(1, 201):
        await writer.run(insert(value))
    for _ in range(50):
        if in_database_file(tmp_path / "writer.db") == 200:
            break
        await asyncio.sleep(0.1)
    assert in_database_file(tmp_path / "writer.db") == 200


async def test_an_urgent_write_goes_ahead_of_those_waiting_in_a_group_of_its_own(
    writer: SqliteWriter,
) -> None:
    release = threading.Event()
    ran: list[tuple[str, int]] = []  # (job, commits before its group's): one value per group

    def slow(connection: Connection) -> None:
        release.wait(5)

    def job(name: str) -> Callable[[Connection], None]:
        return lambda connection: ran.append((name, writer.commits))

    first = asyncio.create_task(writer.run(slow))
    await asyncio.sleep(0.05)  # the slow group is on the writer's thread
    waiting = [asyncio.create_task(writer.run(job(f"low {n}"), 100)) for n in range(3)]
    await asyncio.sleep(0.01)
    urgent = asyncio.create_task(writer.run(job("urgent"), urgent=True))
    await asyncio.sleep(0.01)
    release.set()
    await asyncio.gather(first, urgent, *waiting)
    assert [name for name, _ in ran] == ["urgent", "low 0", "low 1", "low 2"]
    group = dict(ran)
    assert group["urgent"] < group["low 0"] == group["low 1"] == group["low 2"]
