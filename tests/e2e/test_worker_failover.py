"""Two `clarion worker`s on Kafka; one is SIGKILLed in the middle of 20,000
notifications. Every notification ends SENT, none is sent twice, and the
survivor takes over the dead worker's partitions. Prints the counts.

Run alone to see them: pytest tests/e2e/test_worker_failover.py -s
"""

import json
import signal
import time
from pathlib import Path

import pytest

from tests.support.databases import SENT_ONCE_COUNTS, pg_scalar
from tests.support.processes import admin_session, send_emails
from tests.support.stacks import scaled_out

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

TOTAL = 20_000
# ten partitions per lane topic: a worker's URGENT consumer reads one topic, its
# other consumer the other three
OWNED_BY_ONE = {"urgent": 10, "lanes": 3 * 10}
ADMIN = {"email": "ops@example.com", "password": "failover test password"}


def assignments(log: str, reader: str) -> list[int]:
    lines = [json.loads(line) for line in log.splitlines() if '"queue.kafka.assigned"' in line]
    return [line["partitions"] for line in lines if line["reader"] == reader]


def test_sigkill_of_one_of_two_workers_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    sent = SENT_ONCE_COUNTS["sent"]
    with scaled_out(
        tmp_path,
        ADMIN,
        redis_db=14,
        CLARION_RATE_LIMIT_ENABLED="false",
        CLARION_CLAIM_LEASE_SECONDS="5",
    ) as env:
        stack, database = env.stack, env.database
        stack.start("scheduler", "scheduler")
        worker_a = stack.start("a", "worker")
        stack.start("b", "worker")
        url = stack.start_api()
        headers, me = admin_session(url, ADMIN)
        send_emails(url, headers, me, TOTAL, "u{i}@x.io")

        deadline = time.monotonic() + 120
        while pg_scalar(database.url, sent) < TOTAL // 4 and time.monotonic() < deadline:
            time.sleep(0.2)
        worker_a.send_signal(signal.SIGKILL)
        worker_a.wait()
        at_kill = pg_scalar(database.url, sent)

        deadline = time.monotonic() + 300
        while pg_scalar(database.url, sent) < TOTAL and time.monotonic() < deadline:
            time.sleep(1)
        final = {name: pg_scalar(database.url, sql) for name, sql in SENT_ONCE_COUNTS.items()}

    survivor = {reader: assignments(stack.log("b"), reader) for reader in OWNED_BY_ONE}
    print(f"\nSENT when worker A was killed: {at_kill} of {TOTAL}")
    print(f"worker B's assignments (partitions): {survivor}")
    print(f"final: {final}")
    assert at_kill < TOTAL
    assert final["sent"] == TOTAL
    assert final["sandbox_distinct"] == final["sandbox_rows"] == TOTAL
    assert final["most_sent_events"] == 1
    for reader, everything in OWNED_BY_ONE.items():
        assert survivor[reader][-1] == everything  # B ended up owning every partition
        assert min(survivor[reader]) < everything  # ... having shared them with A before
