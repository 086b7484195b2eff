"""SIGKILL `clarion serve` with 10,000 notifications accepted and not yet sent;
after a restart every one ends SENT, each exactly once.

Run alone to see the counts: pytest tests/e2e/test_crash_recovery.py -s
"""

import asyncio
import signal
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import asyncpg
import pytest

from tests.support.databases import SENT_ONCE_COUNTS, PostgresDatabase, asyncpg_url
from tests.support.processes import Server, admin_session, clean_env, send_emails

pytestmark = pytest.mark.slow

TOTAL = 10_000
ADMIN = {"email": "ops@example.com", "password": "crash test password"}
COUNTS = {
    **SENT_ONCE_COUNTS,
    "accepted": "SELECT count(*) FROM notifications",
    "sent_events": "SELECT count(*) FROM events WHERE type = 'SENT'",
}


@pytest.fixture(params=["sqlite", "postgresql"])
def deployment(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[dict[str, str], Callable[[], dict[str, int]]]]:
    env = clean_env(CLARION_ADMIN_EMAIL=ADMIN["email"], CLARION_ADMIN_PASSWORD=ADMIN["password"])
    if request.param == "sqlite":
        database = tmp_path / "clarion.db"

        def counts() -> dict[str, int]:
            with sqlite3.connect(database) as connection:
                return {k: connection.execute(q).fetchone()[0] for k, q in COUNTS.items()}

        yield env, counts
        return
    postgres = PostgresDatabase()
    postgres.create(migrated=False)
    env.update(
        CLARION_DATABASE_URL=postgres.url,
        CLARION_JWT_SECRET="crash-test-secret-long-enough-for-hs256-0123456789",
    )

    def pg_counts() -> dict[str, int]:
        async def read() -> dict[str, int]:
            connection = await asyncpg.connect(asyncpg_url(postgres.url))
            try:
                return {k: int(await connection.fetchval(q)) for k, q in COUNTS.items()}
            finally:
                await connection.close()

        return asyncio.run(read())

    try:
        yield env, pg_counts
    finally:
        postgres.drop()


def test_sigkill_with_10000_accepted_then_restart_sends_each_exactly_once(
    tmp_path: Path, deployment: tuple[dict[str, str], Callable[[], dict[str, int]]]
) -> None:
    env, counts = deployment
    server = Server(tmp_path, env).start()
    try:
        headers, me = admin_session(server.url, ADMIN)
        # the sandbox answers these after 10 ms, so a backlog builds up
        send_emails(server.url, headers, me, TOTAL, "slow-10-{i}@example.com")
    finally:
        server.stop(signal.SIGKILL)

    at_kill = counts()
    print(f"\nat SIGKILL: {at_kill['accepted']} accepted, {at_kill['sent']} sent")
    assert at_kill["accepted"] == TOTAL
    assert at_kill["sent"] < TOTAL  # work was still outstanding when the process died

    server.start()
    try:
        deadline = time.monotonic() + 180
        while counts()["sent"] < TOTAL and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        server.stop()

    final = counts()
    print(f"after restart: {final}")
    assert final["sent"] == TOTAL
    assert final["sandbox_rows"] == TOTAL
    assert final["sandbox_distinct"] == TOTAL
    assert final["sent_events"] == TOTAL
    assert final["most_sent_events"] == 1
