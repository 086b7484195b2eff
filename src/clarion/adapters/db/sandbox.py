"""The sandbox provider's table: what would have been sent, newest first."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from sqlalchemy import Connection, Table, bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clarion.adapters.db.models import SandboxMessage
from clarion.domain.content import as_payload
from clarion.domain.delivery import OutgoingMessage
from clarion.domain.time import utcnow


class SqlSandboxOutbox:
    """Records are written in groups: concurrent sends within a few milliseconds
    share one transaction (group commit), which keeps SQLite's single writer
    from becoming the bottleneck. A send returns only once its row is committed."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        write: Callable[[Callable[[Connection], None]], Awaitable[None]],
    ) -> None:
        """`sessions` read; `write` runs a batch write and commits it."""
        self._sessions = sessions
        self._write_job = write
        self._waiting: list[tuple[dict[str, Any], asyncio.Future[None]]] = []
        self._flushing: asyncio.Task[None] | None = None

    async def record(self, message: OutgoingMessage) -> str:
        row = {
            "id": uuid.uuid4(),
            "notification_id": message.notification_id,
            "channel": message.channel,
            "recipient": message.recipient[:320],
            "content": as_payload(message.content),
            "created_at": utcnow(),
        }
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((row, done))
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush_soon())
        await done
        return f"sandbox-{message.notification_id}"

    async def _flush_soon(self) -> None:
        await asyncio.sleep(0.002)
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                await self._write([row for row, _ in batch])
            except Exception as exc:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for _, done in batch:
                if not done.done():
                    done.set_result(None)

    async def _write(self, rows: list[dict[str, Any]]) -> None:
        await self._write_job(partial(record_rows, rows))

    async def recent(self, limit: int) -> list[dict[str, Any]]:
        async with self._sessions() as session:
            rows = await session.scalars(
                select(SandboxMessage)
                .order_by(SandboxMessage.created_at.desc(), SandboxMessage.id)
                .limit(limit)
            )
            return [
                {
                    "id": row.id,
                    "notificationId": row.notification_id,
                    "channel": row.channel,
                    "recipient": row.recipient,
                    "content": row.content,
                    "duplicatesSuppressed": row.duplicates,
                    "createdAt": row.created_at,
                }
                for row in rows
            ]


def record_rows(rows: list[dict[str, Any]], connection: Connection) -> None:
    table: Table = SandboxMessage.__table__  # type: ignore[assignment]
    insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    # The notification id is the idempotency key: a send repeated after a
    # crash is counted, not recorded twice.
    unique: dict[uuid.UUID, dict[str, Any]] = {}
    for row in rows:
        unique.setdefault(row["notification_id"], row)
    statement = insert(table).values(list(unique.values()))
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.notification_id],
        set_={"duplicates": table.c.duplicates + 1},
    )
    connection.execute(statement)
    repeats = [r["notification_id"] for r in rows if unique[r["notification_id"]] is not r]
    if repeats:
        connection.execute(
            update(table)
            .where(table.c.notification_id == bindparam("b_id"))
            .values(duplicates=table.c.duplicates + 1),
            [{"b_id": notification_id} for notification_id in repeats],
        )
