"""Fill a migrated database with notifications that were sent days ago, with their
CREATED and SENT events, straight in SQL: what a service that has run for a while
holds. They belong to the admin user (`email`), go to its inbox, and were read."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]

PAYLOAD = json.dumps({"title": "Stored", "body": "A notification sent before the benchmark"})
SENT_EVENT = json.dumps({"attempt": 1, "provider": "inbox"})
DAYS = 7
CHUNK = 100_000


def sqlite_time(moment: datetime) -> str:
    """How SQLAlchemy stores a UTC timestamp in SQLite."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


SQLITE_NOTIFICATIONS = """
WITH RECURSIVE numbers(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM numbers WHERE n < ?),
generated AS MATERIALIZED (
    SELECT n, lower(hex(randomblob(16))) AS id,
        julianday('now') - (60 + abs(random() % (? * 86400000)) / 1000.0) / 86400 AS t,
        (20 + abs(random() % 180)) / 86400000.0 AS d
    FROM numbers
),
stamped AS (
    SELECT n, id, strftime('%Y-%m-%d %H:%M:%f', t) || '000' AS created,
        strftime('%Y-%m-%d %H:%M:%f', t + d) || '000' AS sent,
        strftime('%Y-%m-%d %H:%M:%f', t + d + 300.0 / 86400) || '000' AS read
    FROM generated
)
INSERT INTO notifications (id, user_id, channel, type, priority, priority_rank, status, payload,
    metadata, created_at, updated_at, sent_at, attempts, provider, provider_message_id, read_at)
SELECT id, ?, 'IN_APP', 'TRANSACTIONAL',
    CASE n % 4 WHEN 0 THEN 'URGENT' WHEN 1 THEN 'HIGH' WHEN 2 THEN 'MEDIUM' ELSE 'LOW' END,
    n % 4, 'SENT', ?, 'null', created, sent, sent, 1, 'inbox', id, read
FROM stamped
"""
SQLITE_EVENTS = """
INSERT INTO events (id, notification_id, user_id, type, status, channel, metadata, timestamp)
SELECT lower(hex(randomblob(16))), id, user_id, 'CREATED', 'PENDING', channel, 'null', created_at
FROM notifications WHERE rowid > ?
UNION ALL
SELECT lower(hex(randomblob(16))), id, user_id, 'SENT', 'SENT', channel, ?, sent_at
FROM notifications WHERE rowid > ?
"""


def seed_sqlite(path: Path, email: str, count: int) -> None:
    """Rows generated inside SQLite (timestamps in SQLAlchemy's format, ids as its
    32-digit hex), 100,000 notifications per transaction, before the server starts.
    The large page cache keeps the random-key index inserts off the disk."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA synchronous = OFF")
        connection.execute("PRAGMA cache_size = -1048576")  # 1 GiB
        (user,) = connection.execute("SELECT id FROM users WHERE email = ?", (email,)).fetchone()
        for start in range(0, count, CHUNK):
            connection.execute("BEGIN")
            last = "SELECT coalesce(max(rowid), 0) FROM notifications"
            (before,) = connection.execute(last).fetchone()
            size = min(CHUNK, count - start)
            connection.execute(SQLITE_NOTIFICATIONS, (size, DAYS, user, PAYLOAD))
            connection.execute(SQLITE_EVENTS, (before, SENT_EVENT, before))
            connection.execute("COMMIT")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()


PG_NOTIFICATIONS = """
INSERT INTO notifications (id, user_id, channel, type, priority, priority_rank, status, payload,
    created_at, updated_at, sent_at, attempts, provider, provider_message_id, read_at)
SELECT id, $1, 'IN_APP', 'TRANSACTIONAL', (ARRAY['URGENT', 'HIGH', 'MEDIUM', 'LOW'])[n % 4 + 1],
    n % 4, 'SENT', $3::jsonb, t, t + d, t + d, 1, 'inbox', id::text, t + d + interval '5 minutes'
FROM (
    SELECT n, gen_random_uuid() AS id,
        now() - interval '1 minute' - random() * $4::float8 * interval '1 day' AS t,
        (20 + random() * 180) * interval '1 millisecond' AS d
    FROM generate_series(1, $2::int) AS n
) AS generated
"""
PG_EVENTS = """
INSERT INTO events (id, notification_id, user_id, type, status, channel, metadata, timestamp)
SELECT gen_random_uuid(), id, user_id, 'CREATED', 'PENDING', channel, NULL, created_at
FROM notifications
UNION ALL
SELECT gen_random_uuid(), id, user_id, 'SENT', 'SENT', channel, $1::jsonb, sent_at
FROM notifications
"""


def seed_postgres(url: str, email: str, count: int) -> None:
    """INSERT … SELECT generate_series in the server, before the processes start, then
    VACUUM ANALYZE as autovacuum would have done on a database that grew over days."""

    async def seed() -> None:
        connection = await asyncpg.connect(url)
        try:
            user = await connection.fetchval("SELECT id FROM users WHERE email = $1", email)
            async with connection.transaction():
                await connection.execute(PG_NOTIFICATIONS, user, count, PAYLOAD, float(DAYS))
                await connection.execute(PG_EVENTS, SENT_EVENT)
            await connection.execute("VACUUM ANALYZE notifications")
            await connection.execute("VACUUM ANALYZE events")
        finally:
            await connection.close()

    asyncio.run(seed())
