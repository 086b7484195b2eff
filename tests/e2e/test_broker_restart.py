"""Restart the Kafka broker (Tansu keeps messages in memory, so the restart
loses them) in the middle of a run: every notification still ends SENT, once.
The database is the source of truth; the sweeper republishes what the broker lost.

Run alone to see the counts: pytest tests/e2e/test_broker_restart.py -s
"""

import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_worker_failover import query
from tests.support.databases import PostgresDatabase
from tests.support.kafka import TansuBroker, free_port
from tests.support.processes import CLARION, clean_env
from tests.support.processes import free_port as free_api_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]
TOTAL = 5_000
ADMIN = {"email": "ops@example.com", "password": "broker restart password"}


def test_a_broker_restart_mid_run_still_ends_with_every_notification_sent(
    tmp_path: Path,
) -> None:
    database = PostgresDatabase()
    database.create(migrated=False)
    kafka_port = free_port()
    broker = TansuBroker(tmp_path / "tansu.log", port=kafka_port).start()
    env = clean_env(
        CLARION_DATABASE_URL=database.url,
        CLARION_KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap,
        CLARION_REDIS_URL="redis://127.0.0.1:6379/12",
        CLARION_JWT_SECRET="restart-test-secret-long-enough-for-hs256-0123",
        CLARION_ADMIN_EMAIL=ADMIN["email"],
        CLARION_ADMIN_PASSWORD=ADMIN["password"],
        CLARION_RATE_LIMIT_ENABLED="false",
        CLARION_OUTBOX_REDELIVERY_SECONDS="5",
        CLARION_CLAIM_LEASE_SECONDS="10",
    )
    processes: list[subprocess.Popen[bytes]] = []
    sent = "SELECT count(*) FROM notifications WHERE status = 'SENT'"
    try:
        subprocess.run([CLARION, "migrate"], env=env, check=True, capture_output=True)
        subprocess.run([CLARION, "create-admin"], env=env, check=True, capture_output=True)
        port = free_api_port()
        for name, command in (
            ("scheduler", ["scheduler"]),
            ("worker", ["worker"]),
            ("api", ["api", "--port", str(port)]),
        ):
            with (tmp_path / f"{name}.log").open("wb") as log:
                processes.append(
                    subprocess.Popen(
                        [CLARION, *command], env=env, stdout=log, stderr=subprocess.STDOUT
                    )
                )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/health/readiness", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        token = httpx.post(f"{url}/auth/login", json=ADMIN).json()["accessToken"]
        headers = {"Authorization": f"Bearer {token}"}
        me = httpx.get(f"{url}/auth/me", headers=headers).json()["id"]
        with httpx.Client(base_url=url, headers=headers, timeout=120) as http:
            for start in range(0, TOTAL, 1000):
                items = [
                    {
                        "userId": me,
                        "channel": "EMAIL",
                        "type": "TRANSACTIONAL",
                        # the sandbox answers these after 20 ms: a backlog builds up
                        "payload": {"subject": "s", "body": "b", "to": f"slow-20-{start + i}@x.io"},
                    }
                    for i in range(1000)
                ]
                assert (
                    http.post("/notifications/batch", json={"notifications": items}).json()[
                        "created"
                    ]
                    == 1000
                )

        deadline = time.monotonic() + 120
        while query(database.url, sent) < TOTAL // 10 and time.monotonic() < deadline:
            time.sleep(0.2)
        broker.stop()  # in the middle of the run: everything the broker held is gone
        at_stop = query(database.url, sent)
        time.sleep(2)
        broker = TansuBroker(tmp_path / "tansu.log", port=kafka_port).start()

        deadline = time.monotonic() + 240
        while query(database.url, sent) < TOTAL and time.monotonic() < deadline:
            time.sleep(1)
        final = {
            "sent": query(database.url, sent),
            "sandbox_distinct": query(
                database.url, "SELECT count(DISTINCT notification_id) FROM sandbox_messages"
            ),
            "duplicates_suppressed": query(
                database.url, "SELECT coalesce(sum(duplicates), 0) FROM sandbox_messages"
            ),
            "most_sent_events": query(
                database.url,
                "SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM events "
                "WHERE type = 'SENT' GROUP BY notification_id) AS per_notification",
            ),
        }
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        broker.stop()
        database.drop()
    print(f"\nSENT when the broker stopped: {at_stop} of {TOTAL}; after its restart: {final}")
    assert 0 < at_stop < TOTAL
    assert final["sent"] == final["sandbox_distinct"] == TOTAL
    assert final["most_sent_events"] == 1
