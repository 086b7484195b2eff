"""`POST /data-pipeline/archive` and `GET /data-pipeline/archive/stats`: what an
admin sees, what the audit trail keeps, and the refusals (422, 409, 503)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from clarion.adapters.db.archive import ARCHIVE_LOCK
from clarion.api.app import create_app
from clarion.bootstrap import Container, build_archive
from clarion.config import Settings
from clarion.domain.time import utcnow
from clarion.ports_archive import ObjectStore
from tests.conftest import make_settings
from tests.support.apps import serving, signed_in_admin
from tests.support.archive import assert_each_row_in_one_place, seed
from tests.support.databases import asyncpg_url
from tests.support.identity import ERROR_KEYS, add_user


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    folder = tmp_path / "archive-folder"
    return make_settings(database_url=database_url, archive_url=folder.as_uri())


@pytest.fixture
async def serve(container: Container) -> AsyncIterator[Any]:
    async with serving(create_app(container=container)) as http:
        admin, admin_id = await signed_in_admin(http, container, "archivist@example.com")
        yield http, admin, admin_id


async def audit(http: httpx.AsyncClient, admin: dict[str, str], action: str) -> list[Any]:
    response = await http.get("/data-pipeline/audit-logs", headers=admin, params={"action": action})
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()["items"]
    return items


def refused(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == ERROR_KEYS, body
    assert body["code"] == code, body


async def test_an_admin_archives_now_and_reads_the_stats_both_audited(
    serve: Any, container: Container
) -> None:
    http, admin, admin_id = serve
    user = await add_user(container, "customer@example.com")
    seeded = await seed(container, [user], now=utcnow(), total=400)

    response = await http.post("/data-pipeline/archive", headers=admin)

    assert response.status_code == 200, response.text
    run = response.json()
    due = seeded.due(90)
    assert run["outcome"] == "succeeded"
    assert run["trigger"] == "manual"
    assert (run["notifications"], run["events"]) == (len(due), len(seeded.events_of(due)))
    assert run["olderThanDays"] == 90
    assert run["files"] > 0
    await assert_each_row_in_one_place(container, seeded)
    [entry] = await audit(http, admin, "data.archive")
    assert entry["actorId"] == str(admin_id)
    changes = entry["changes"]
    assert (changes["notifications"], changes["files"]) == (run["notifications"], run["files"])
    assert changes["runId"] == run["id"]

    narrower = await http.post("/data-pipeline/archive?olderThanDays=30", headers=admin)
    assert narrower.status_code == 200, narrower.text
    assert narrower.json()["notifications"] == len(seeded.due(30)) - len(due)

    stats = await http.get("/data-pipeline/archive/stats", headers=admin)
    assert stats.status_code == 200, stats.text
    body = stats.json()
    assert body["notifications"] == len(seeded.due(30))
    assert body["files"] == run["files"] + narrower.json()["files"]
    assert body["lastRun"]["id"] == narrower.json()["id"]
    oldest = min(seeded.notifications[i] for i in due)
    assert body["oldest"] == oldest.isoformat().replace("+00:00", "Z")
    assert body["location"].startswith("file://")
    assert len(await audit(http, admin, "data.archive.stats")) == 1


@pytest.mark.parametrize("value", ["0", "-3", "36501", "ninety", "1.5"])
async def test_a_cutoff_that_is_not_a_whole_number_of_days_is_422(
    serve: Any, container: Container, value: str
) -> None:
    http, admin, _ = serve
    response = await http.post(f"/data-pipeline/archive?olderThanDays={value}", headers=admin)
    refused(response, 422, "validation_error")
    assert [d["field"] for d in response.json()["details"]] == ["olderThanDays"]
    assert (await container.archive.stats()).last_run is None, "no pass ran"


class HeldStore:
    """The real store, whose first write waits until the test lets it go: a
    pass caught in the middle."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store
        self.location = store.location
        self.reached = asyncio.Event()
        self.release = asyncio.Event()

    async def put(self, name: str, data: bytes) -> None:
        self.reached.set()
        await self.release.wait()
        await self._store.put(name, data)

    async def get(self, name: str) -> bytes:
        return await self._store.get(name)

    async def delete(self, names: list[str]) -> None:
        await self._store.delete(names)

    async def names(self) -> list[str]:
        return await self._store.names()


async def test_a_second_pass_while_one_is_under_way_is_409(
    serve: Any, container: Container
) -> None:
    http, admin, _ = serve
    seeded = await seed(container, [await add_user(container, "c@example.com")], now=utcnow())
    held = HeldStore(container.archive.store)
    container.archive.store = held
    first = asyncio.create_task(http.post("/data-pipeline/archive", headers=admin))
    async with asyncio.timeout(30):
        await held.reached.wait()

    second = await http.post("/data-pipeline/archive", headers=admin)

    refused(second, 409, "conflict")
    held.release.set()
    done = await first
    assert done.status_code == 200, done.text
    assert done.json()["notifications"] == len(seeded.due(90))
    assert len(await audit(http, admin, "data.archive")) == 1, "the refused one moved nothing"


async def test_a_pass_in_another_process_makes_post_409(
    serve: Any, backend: str, database_url: str
) -> None:
    """Another API process holds PostgreSQL's archive lock (SQLite is one process)."""
    if backend != "postgresql":
        pytest.skip("SQLite has one process; its runs exclude each other in it")
    http, admin, _ = serve
    other = await asyncpg.connect(asyncpg_url(database_url))
    try:
        assert await other.fetchval("SELECT pg_try_advisory_lock($1)", ARCHIVE_LOCK)
        refused(await http.post("/data-pipeline/archive", headers=admin), 409, "conflict")
    finally:
        await other.close()
    assert (await http.post("/data-pipeline/archive", headers=admin)).status_code == 200


async def test_a_store_that_refuses_writes_is_503_and_moves_nothing(
    serve: Any, container: Container, tmp_path: Path, settings: Settings
) -> None:
    http, admin, _ = serve
    seeded = await seed(container, [await add_user(container, "d@example.com")], now=utcnow())
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the archive folder should be")
    broken = make_settings(
        database_url=settings.database_url, archive_url=(blocker / "archive").as_uri()
    )
    container.archive = build_archive(broken, container.database)

    response = await http.post("/data-pipeline/archive", headers=admin)

    refused(response, 503, "archive_failed")
    contents = await assert_each_row_in_one_place(container, seeded)
    assert contents.rows == []
    stats = await container.archive.stats()
    assert stats.last_run is not None
    assert stats.last_run.outcome.value == "failed"
    [entry] = await audit(http, admin, "data.archive")
    assert "failed" in entry["changes"]
    assert uuid.UUID(entry["entityId"])
