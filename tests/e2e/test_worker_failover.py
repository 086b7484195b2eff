"""Two `clarion worker`s on Kafka; one is SIGKILLed in the middle of 20,000
notifications. Every notification ends SENT, none is sent twice, and the
survivor takes over the dead worker's partitions. Prints the counts.

Run alone to see them: pytest tests/e2e/test_worker_failover.py -s
"""

import asyncio
import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.support.databases import PostgresDatabase, asyncpg_url
from tests.support.kafka import TansuBroker
from tests.support.processes import CLARION, clean_env, free_port

pytestmark = pytest.mark.slow

TOTAL = 20_000
LANE_PARTITIONS = 4 * 10  # four lane topics of ten partitions
ADMIN = {"email": "ops@example.com", "password": "failover test password"}


@pytest.fixture
def postgres() -> Iterator[PostgresDatabase]:
    database = PostgresDatabase()
    database.create(migrated=False)
    yield database
    database.drop()


def query(url: str, sql: str) -> int:
    async def run() -> int:
        connection = await asyncpg.connect(asyncpg_url(url))
        try:
            return int(await connection.fetchval(sql))
        finally:
            await connection.close()

    return asyncio.run(run())


def assignments(log: Path) -> list[int]:
    sizes = []
    for line in log.read_text().splitlines():
        if '"queue.kafka.assigned"' in line:
            sizes.append(json.loads(line)["partitions"])
    return sizes


def test_sigkill_of_one_of_two_workers_loses_and_duplicates_nothing(
    tmp_path: Path, postgres: PostgresDatabase
) -> None:
    broker = TansuBroker(tmp_path / "tansu.log").start()
    env = clean_env(
        CLARION_DATABASE_URL=postgres.url,
        CLARION_KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap,
        CLARION_REDIS_URL="redis://127.0.0.1:6379/14",
        CLARION_JWT_SECRET="failover-test-secret-long-enough-for-hs256-0123",
        CLARION_ADMIN_EMAIL=ADMIN["email"],
        CLARION_ADMIN_PASSWORD=ADMIN["password"],
        CLARION_RATE_LIMIT_ENABLED="false",
        CLARION_CLAIM_LEASE_SECONDS="5",
        CLARION_LOG_LEVEL="INFO",
    )
    processes: dict[str, subprocess.Popen[bytes]] = {}
    logs = {name: tmp_path / f"{name}.log" for name in ("scheduler", "a", "b", "api")}
    try:
        subprocess.run([CLARION, "migrate"], env=env, check=True, capture_output=True)
        subprocess.run([CLARION, "create-admin"], env=env, check=True, capture_output=True)
        port = free_port()
        commands = {
            "scheduler": ["scheduler"],
            "a": ["worker"],
            "b": ["worker"],
            "api": ["api", "--port", str(port)],
        }
        for name, command in commands.items():
            with logs[name].open("wb") as log:
                processes[name] = subprocess.Popen(
                    [CLARION, *command], env=env, stdout=log, stderr=subprocess.STDOUT
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
                        "payload": {"subject": "s", "body": "b", "to": f"u{start + i}@example.com"},
                    }
                    for i in range(1000)
                ]
                created = http.post("/notifications/batch", json={"notifications": items})
                assert created.json()["created"] == 1000

        sent = "SELECT count(*) FROM notifications WHERE status = 'SENT'"
        deadline = time.monotonic() + 120
        while query(postgres.url, sent) < TOTAL // 4 and time.monotonic() < deadline:
            time.sleep(0.2)
        processes["a"].send_signal(signal.SIGKILL)
        processes["a"].wait()
        at_kill = query(postgres.url, sent)

        deadline = time.monotonic() + 300
        while query(postgres.url, sent) < TOTAL and time.monotonic() < deadline:
            time.sleep(1)
        final = {
            "sent": query(postgres.url, sent),
            "sandbox_distinct": query(
                postgres.url, "SELECT count(DISTINCT notification_id) FROM sandbox_messages"
            ),
            "sandbox_rows": query(postgres.url, "SELECT count(*) FROM sandbox_messages"),
            "duplicates_suppressed": query(
                postgres.url, "SELECT coalesce(sum(duplicates), 0) FROM sandbox_messages"
            ),
            "most_sent_events": query(
                postgres.url,
                "SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM events "
                "WHERE type = 'SENT' GROUP BY notification_id) AS per_notification",
            ),
        }
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        broker.stop()

    survivor = assignments(logs["b"])
    print(f"\nSENT when worker A was killed: {at_kill} of {TOTAL}")
    print(f"worker B's assignments (partitions): {survivor}")
    print(f"final: {final}")
    assert at_kill < TOTAL
    assert final["sent"] == TOTAL
    assert final["sandbox_distinct"] == final["sandbox_rows"] == TOTAL
    assert final["most_sent_events"] == 1
    assert survivor[-1] == LANE_PARTITIONS  # B ended up owning every lane partition
    assert min(survivor) < LANE_PARTITIONS  # ... having shared them with A before
