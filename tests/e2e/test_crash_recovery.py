"""SIGKILL `clarion serve` with notifications accepted and not yet sent; after a
restart every one ends SENT, each exactly once in the database.

The provider may see a send twice: one whose outcome was not committed when the
process died is sent again after the restart. The serve process runs with
CLARION_PROVIDER_CONCURRENCY=50 and CLARION_WORKER_BATCH_SIZE=500, and the
number of notifications the sandbox provider received twice must stay within
the sends in flight plus one commit group of outcomes. Outcomes are recorded as
providers answer, and with 50 sends in flight they come back at most 50 at a
time, so the bound is 50 + 50 = 100. (Recording a batch's outcomes only once the
whole batch was sent could repeat a whole batch per consumer: 600 were seen.)
It is checked with the kill at five moments on SQLite (10,000 accepted
and the kill as soon as they are; then 3,000 accepted and the kill at about 10%,
30%, 60% and 90% SENT) and once on PostgreSQL (10,000, as soon as accepted).
Each kill waits for a moment when the provider holds sends whose outcomes are
not committed, the moment a crash costs most.

Run alone to see the counts: pytest tests/e2e/test_crash_recovery.py -s
"""

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from tests.support.crash import DUPLICATE_COUNTS, sigkill
from tests.support.databases import SENT_ONCE_COUNTS, PostgresDatabase, asyncpg_url
from tests.support.processes import Server, admin_session, clean_env, send_emails

pytestmark = pytest.mark.slow

ADMIN = {"email": "ops@example.com", "password": "crash test password"}
PROVIDER_CONCURRENCY = 50
BATCH_SIZE = 500
# the sends in flight, plus one commit group of outcomes (at most as many)
SENT_TWICE_AT_MOST = 2 * PROVIDER_CONCURRENCY
# sends the provider has recorded whose outcome is not committed: a crash now
# makes the restarted process send them again
OUTCOME_NOT_COMMITTED = (
    "SELECT count(*) FROM sandbox_messages AS m JOIN notifications AS n "
    "ON n.id = m.notification_id WHERE n.status <> 'SENT'"
)
# the SENT count and the same, in one round trip (polled to pick the kill moment)
PROGRESS = (
    "SELECT (SELECT count(*) FROM notifications WHERE status = 'SENT'), "
    "(SELECT count(*) FROM sandbox_messages AS m JOIN notifications AS n "
    "ON n.id = m.notification_id WHERE n.status <> 'SENT')"
)
COUNTS = {
    **SENT_ONCE_COUNTS,
    **DUPLICATE_COUNTS,
    "outcome_not_committed": OUTCOME_NOT_COMMITTED,
    "accepted": "SELECT count(*) FROM notifications",
    "sent_events": "SELECT count(*) FROM events WHERE type = 'SENT'",
}


@dataclass
class Deployment:
    env: dict[str, str]
    counts: Callable[[], dict[str, int]]
    progress: Callable[[], tuple[int, int]]  # SENT, sends whose outcome is not committed


@pytest.fixture(params=["sqlite", "postgresql"])
def deployment(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deployment]:
    env = clean_env(
        CLARION_ADMIN_EMAIL=ADMIN["email"],
        CLARION_ADMIN_PASSWORD=ADMIN["password"],
        CLARION_PROVIDER_CONCURRENCY=str(PROVIDER_CONCURRENCY),
        CLARION_WORKER_BATCH_SIZE=str(BATCH_SIZE),
    )
    if request.param == "sqlite":
        database = tmp_path / "clarion.db"

        def counts() -> dict[str, int]:
            with sqlite3.connect(database) as connection:
                return {k: connection.execute(q).fetchone()[0] for k, q in COUNTS.items()}

        def progress() -> tuple[int, int]:
            with sqlite3.connect(database) as connection:
                sent, not_committed = connection.execute(PROGRESS).fetchone()
                return int(sent), int(not_committed)

        yield Deployment(env, counts, progress)
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

    def pg_progress() -> tuple[int, int]:
        async def read() -> tuple[int, int]:
            connection = await asyncpg.connect(asyncpg_url(postgres.url))
            try:
                sent, not_committed = await connection.fetchrow(PROGRESS)
                return int(sent), int(not_committed)
            finally:
                await connection.close()

        return asyncio.run(read())

    try:
        yield Deployment(env, pg_counts, pg_progress)
    finally:
        postgres.drop()


def crash_and_restart(
    tmp_path: Path, deployment: Deployment, total: int, recipient: str, kill_at: float
) -> None:
    """Accept `total`, SIGKILL serve once `kill_at` of them are SENT, restart,
    and check each is sent exactly once.

    Past `kill_at` the kill waits for the worst moment the database shows: the
    most sends the provider has recorded whose outcomes are not committed. It
    watches for one more worker batch of sends and kills as soon as that count
    passes the bound (which the test then fails), else when the watch ends with
    such sends outstanding (a kill just after a commit would prove little)."""
    server = Server(tmp_path, deployment.env).start()
    try:
        headers, me = admin_session(server.url, ADMIN)
        send_emails(server.url, headers, me, total, recipient)
        deadline = time.monotonic() + 60
        past_target: int | None = None  # SENT when the target was first seen reached
        while time.monotonic() < deadline:
            sent, outcome_not_committed = deployment.progress()
            if sent >= kill_at * total:
                past_target = sent if past_target is None else past_target
                if outcome_not_committed > SENT_TWICE_AT_MOST:
                    break
                # watch one batch of sends, or half of what is left if that is less
                window = min(BATCH_SIZE, (total - past_target) // 2)
                if sent >= past_target + window and (
                    outcome_not_committed > 0 or sent >= past_target + 2 * window
                ):
                    break
            time.sleep(0.005)
        sigkill(server)
    finally:
        server.kill()

    at_kill = deployment.counts()
    print(
        f"\n{total} accepted, SIGKILL at {at_kill['sent']} SENT "
        f"({at_kill['sent'] / total:.0%}, aimed at {kill_at:.0%}), with "
        f"{at_kill['outcome_not_committed']} sends at the provider whose outcome "
        "was not committed"
    )
    assert at_kill["accepted"] == total
    assert at_kill["sent"] >= kill_at * total
    assert at_kill["sent"] < total  # work was still outstanding when the process died

    server.start()
    try:
        deadline = time.monotonic() + 90
        while deployment.progress()[0] < total and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        server.stop()

    final = deployment.counts()
    print(
        f"after restart: {final['sent']} SENT, {final['sent_events']} SENT events; "
        f"{final['sent_twice']} reached the provider twice "
        f"({final['repeats']} repeated sends; at most {SENT_TWICE_AT_MOST} allowed)"
    )
    assert final["sent"] == total
    assert final["sandbox_rows"] == total
    assert final["sandbox_distinct"] == total
    assert final["sent_events"] == total
    assert final["most_sent_events"] == 1
    assert final["sent_twice"] <= SENT_TWICE_AT_MOST


def test_sigkill_with_10000_accepted_then_restart_sends_each_exactly_once(
    tmp_path: Path, deployment: Deployment
) -> None:
    # the sandbox answers these after 10 ms, so a backlog builds up
    crash_and_restart(tmp_path, deployment, 10_000, "slow-10-{i}@example.com", kill_at=0)


@pytest.mark.parametrize("deployment", ["sqlite"], indirect=True)
@pytest.mark.parametrize("kill_at", [0.1, 0.3, 0.6, 0.9], ids=["10%", "30%", "60%", "90%"])
def test_sigkill_while_sending_repeats_at_most_the_sends_in_flight(
    tmp_path: Path, deployment: Deployment, kill_at: float
) -> None:
    # 50 ms per send: delivery trails acceptance, so each moment can be waited for
    crash_and_restart(tmp_path, deployment, 3_000, "slow-10-{i}@example.com", kill_at)
