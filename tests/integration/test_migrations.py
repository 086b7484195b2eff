"""The same migration files build and remove the schema on SQLite and PostgreSQL."""

import asyncio
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from clarion.adapters.db import migrate
from tests.support.databases import PostgresDatabase, asyncpg_url

TABLES = {"users", "notifications", "events", "audit_logs", "templates"}


@pytest.fixture
def empty_postgres() -> Iterator[PostgresDatabase]:
    database = PostgresDatabase()
    database.create(migrated=False)
    yield database
    database.drop()


async def pg_fetch(url: str, sql: str) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(asyncpg_url(url))
    try:
        return list(await connection.fetch(sql))
    finally:
        await connection.close()


def test_postgres_upgrade_head_then_downgrade_base(empty_postgres: PostgresDatabase) -> None:
    url = empty_postgres.url
    migrate.upgrade(url)
    assert migrate.current_revision(url) == migrate.head_revision()

    tables = asyncio.run(
        pg_fetch(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    )
    assert {row["tablename"] for row in tables} >= TABLES

    indexes = asyncio.run(
        pg_fetch(
            url,
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'notifications'",
        )
    )
    definitions = {row["indexname"]: row["indexdef"] for row in indexes}
    print("partial indexes:", {k: v for k, v in definitions.items() if "WHERE" in v})
    assert "WHERE ((status)::text = 'SCHEDULED'::text)" in definitions["ix_notifications_scheduled"]
    assert "(status, scheduled_for)" in definitions["ix_notifications_scheduled"]
    assert "WHERE ((status)::text = 'FAILED'::text)" in definitions["ix_notifications_failed"]
    assert "created_at DESC" in definitions["ix_notifications_failed"]

    payload_type = asyncio.run(
        pg_fetch(
            url,
            "SELECT data_type FROM information_schema.columns "
            "WHERE table_name = 'notifications' AND column_name = 'payload'",
        )
    )
    assert payload_type[0]["data_type"] == "jsonb"

    migrate.downgrade(url, "base")
    left = asyncio.run(pg_fetch(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
    assert {row["tablename"] for row in left} == {"alembic_version"}
    assert migrate.current_revision(url) is None


def test_sqlite_upgrade_head_then_downgrade_base(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    migrate.upgrade(url)

    async def schema() -> dict[str, str]:
        engine = create_async_engine(url)
        async with engine.connect() as connection:
            rows = await connection.execute(text("SELECT name, sql FROM sqlite_master"))
            found = {name: sql or "" for name, sql in rows}
        await engine.dispose()
        return found

    objects = asyncio.run(schema())
    assert objects.keys() >= TABLES
    assert "WHERE status = 'SCHEDULED'" in objects["ix_notifications_scheduled"]
    assert "WHERE status = 'FAILED'" in objects["ix_notifications_failed"]

    migrate.downgrade(url, "base")
    assert not (TABLES & asyncio.run(schema()).keys())
