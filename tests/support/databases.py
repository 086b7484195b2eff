"""Real databases for tests: an SQLite file and a PostgreSQL database per session.

Each test gets an empty, migrated database: a copy of a migrated SQLite file, or
the session's PostgreSQL database with every table truncated.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from pathlib import Path

import asyncpg

from clarion.adapters.db import migrate
from clarion.adapters.db.models import Base

ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
TABLES = ", ".join(table.name for table in reversed(Base.metadata.sorted_tables))


def asyncpg_url(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def sqlalchemy_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+asyncpg://", 1)


def with_database(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(ADMIN_URL, timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def postgres_reachable() -> str | None:
    """None when PostgreSQL answers, else the reason it does not."""
    try:
        asyncio.run(_admin("SELECT 1"))
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


class PostgresDatabase:
    """A database of its own for this test session, created and dropped here."""

    def __init__(self) -> None:
        self.name = f"clarion_test_{uuid.uuid4().hex[:10]}"
        self.url = sqlalchemy_url(with_database(ADMIN_URL, self.name))

    def create(self, *, migrated: bool = True) -> None:
        asyncio.run(_admin(f'CREATE DATABASE "{self.name}"'))
        if migrated:
            migrate.upgrade(self.url)

    def drop(self) -> None:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))

    async def truncate(self) -> None:
        connection = await asyncpg.connect(asyncpg_url(self.url), timeout=5)
        try:
            await connection.execute(f"TRUNCATE {TABLES} CASCADE")
        finally:
            await connection.close()


class SqliteTemplate:
    """A migrated SQLite file, copied for each test (faster than migrating each time)."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "template.db"
        migrate.upgrade(f"sqlite+aiosqlite:///{self.path}")

    def fresh_copy(self, directory: Path) -> str:
        target = directory / "clarion.db"
        shutil.copyfile(self.path, target)
        return f"sqlite+aiosqlite:///{target}"


def pg_scalar(url: str, sql: str) -> int:
    """One number from PostgreSQL, for tests that watch a running deployment."""

    async def run() -> int:
        connection = await asyncpg.connect(asyncpg_url(url))
        try:
            return int(await connection.fetchval(sql))
        finally:
            await connection.close()

    return asyncio.run(run())


SENT_ONCE_COUNTS = {
    "sent": "SELECT count(*) FROM notifications WHERE status = 'SENT'",
    "sandbox_distinct": "SELECT count(DISTINCT notification_id) FROM sandbox_messages",
    "sandbox_rows": "SELECT count(*) FROM sandbox_messages",
    "duplicates_suppressed": "SELECT coalesce(sum(duplicates), 0) FROM sandbox_messages",
    "most_sent_events": (
        "SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM events "
        "WHERE type = 'SENT' GROUP BY notification_id) AS per_notification"
    ),
}
