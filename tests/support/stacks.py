"""The scaled-out mode for end-to-end tests: a PostgreSQL database of its own, a
Tansu broker, a Redis database, and `clarion` processes sharing them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.databases import PostgresDatabase
from tests.support.kafka import TansuBroker
from tests.support.processes import Stack, clean_env

JWT_SECRET = "e2e-test-secret-long-enough-for-hs256-0123456789"


@dataclass
class ScaledOut:
    stack: Stack
    database: PostgresDatabase
    broker: TansuBroker


@contextmanager
def scaled_out(
    tmp_path: Path, admin: dict[str, str], *, redis_db: int, **settings: str
) -> Iterator[ScaledOut]:
    """Migrated and with its admin created; `settings` are extra CLARION_* values.
    Every process is stopped and the database dropped afterwards."""
    database = PostgresDatabase()
    database.create(migrated=False)
    broker = TansuBroker(tmp_path / "tansu.log").start()
    stack = Stack(
        tmp_path,
        clean_env(
            CLARION_DATABASE_URL=database.url,
            CLARION_KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap,
            CLARION_REDIS_URL=f"redis://127.0.0.1:6379/{redis_db}",
            CLARION_JWT_SECRET=JWT_SECRET,
            CLARION_ADMIN_EMAIL=admin["email"],
            CLARION_ADMIN_PASSWORD=admin["password"],
            **settings,
        ),
    )
    try:
        stack.prepare()
        yield ScaledOut(stack, database, broker)
    finally:
        stack.stop()
        broker.stop()
        database.drop()
