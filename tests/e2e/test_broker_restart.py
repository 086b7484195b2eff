"""Restart the Kafka broker (Tansu keeps messages in memory, so the restart
loses them) in the middle of a run: every notification still ends SENT, once.
The database is the source of truth; the sweeper republishes what the broker lost.

Run alone to see the counts: pytest tests/e2e/test_broker_restart.py -s
"""

import time
from pathlib import Path

import pytest

from tests.support.databases import SENT_ONCE_COUNTS, pg_scalar
from tests.support.processes import admin_session, send_emails
from tests.support.stacks import scaled_out

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]
TOTAL = 5_000
ADMIN = {"email": "ops@example.com", "password": "broker restart password"}


def test_a_broker_restart_mid_run_still_ends_with_every_notification_sent(
    tmp_path: Path,
) -> None:
    sent = SENT_ONCE_COUNTS["sent"]
    with scaled_out(
        tmp_path,
        ADMIN,
        redis_db=10,
        CLARION_RATE_LIMIT_ENABLED="false",
        CLARION_OUTBOX_REDELIVERY_SECONDS="5",
        CLARION_CLAIM_LEASE_SECONDS="10",
    ) as env:
        stack, database, broker = env.stack, env.database, env.broker
        stack.start("scheduler", "scheduler")
        stack.start("worker", "worker")
        url = stack.start_api()
        headers, me = admin_session(url, ADMIN)
        # the sandbox answers these after 20 ms: a backlog builds up
        send_emails(url, headers, me, TOTAL, "slow-20-{i}@x.io")

        deadline = time.monotonic() + 120
        while pg_scalar(database.url, sent) < TOTAL // 10 and time.monotonic() < deadline:
            time.sleep(0.2)
        broker.stop()  # in the middle of the run: everything the broker held is gone
        at_stop = pg_scalar(database.url, sent)
        time.sleep(2)
        broker.start()  # on the same port, empty

        deadline = time.monotonic() + 240
        while pg_scalar(database.url, sent) < TOTAL and time.monotonic() < deadline:
            time.sleep(1)
        final = {name: pg_scalar(database.url, sql) for name, sql in SENT_ONCE_COUNTS.items()}
    print(f"\nSENT when the broker stopped: {at_stop} of {TOTAL}; after its restart: {final}")
    assert 0 < at_stop < TOTAL
    assert final["sent"] == final["sandbox_distinct"] == final["sandbox_rows"] == TOTAL
    assert final["most_sent_events"] == 1
