"""SIGKILL `clarion serve` right after a burst of 201s, with requests still in
flight: every notification that was answered 201 is in the database with its
CREATED event (a 201 means committed), and after a restart each ends SENT once.

Run alone to see the counts: pytest tests/e2e/test_crash_burst.py -s
"""

import asyncio
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.crash import (
    DUPLICATE_COUNTS,
    hex_ids,
    post_until_killed,
    sigkill,
    sqlite_rows,
)
from tests.support.processes import Server, admin_session, clean_env

pytestmark = pytest.mark.slow

ADMIN = {"email": "ops@example.com", "password": "crash test password"}
CLIENTS = 48
BURST_SECONDS = 2.0


def test_sigkill_after_a_burst_of_201s_keeps_every_answered_notification(
    tmp_path: Path,
) -> None:
    database = tmp_path / "clarion.db"
    # Request rate limits are off (as behind an operator's own gateway): a 429
    # would only thin the burst.
    env = clean_env(
        CLARION_ADMIN_EMAIL=ADMIN["email"],
        CLARION_ADMIN_PASSWORD=ADMIN["password"],
        CLARION_RATE_LIMIT_ENABLED="false",
    )
    server = Server(tmp_path, env).start()
    try:
        headers, me = admin_session(server.url, ADMIN)

        def body(i: int) -> dict[str, Any]:
            return {
                "userId": me,
                "channel": "EMAIL",
                "type": "TRANSACTIONAL",
                "payload": {"subject": "s", "body": "b", "to": f"burst-{i}@example.com"},
            }

        burst = asyncio.run(
            post_until_killed(
                server.url,
                headers,
                body,
                clients=CLIENTS,
                kill_after=BURST_SECONDS,
                kill=lambda: sigkill(server),
            )
        )
    finally:
        server.kill()

    print(
        f"\n{CLIENTS} clients, SIGKILL after {burst.seconds_to_kill:.2f}s: "
        f"{len(burst.answered)} answered 201, {burst.cut_off} cut off by the kill, "
        f"other answers {dict(burst.other_statuses) or 'none'}"
    )
    assert not burst.other_statuses, "the burst got answers other than 201"
    assert burst.started == len(burst.answered) + burst.cut_off
    assert burst.cut_off > 0, "no request was in flight at the kill: the test proved nothing"
    answered = hex_ids(burst.answered)

    stored = {nid for (nid,) in sqlite_rows(database, "SELECT id FROM notifications")}
    created = {
        nid
        for (nid,) in sqlite_rows(
            database, "SELECT notification_id FROM events WHERE type = 'CREATED'"
        )
    }
    print(
        f"after the kill: {len(stored)} notifications stored, "
        f"{len(stored - answered)} of them committed but never answered"
    )
    assert answered - stored == set(), "answered 201 but not stored"
    assert answered - created == set(), "answered 201 but no CREATED event"

    shutil.copyfile(server.log_path, tmp_path / "serve-killed.log")
    server.start()
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            pending = sqlite_rows(
                database, "SELECT count(*) FROM notifications WHERE status != 'SENT'"
            )
            if pending[0][0] == 0:
                break
            time.sleep(0.2)
    finally:
        server.stop()

    status = dict(sqlite_rows(database, "SELECT id, status FROM notifications"))
    sent_events = dict(
        sqlite_rows(
            database,
            "SELECT notification_id, count(*) FROM events WHERE type = 'SENT' "
            "GROUP BY notification_id",
        )
    )
    provider = {
        nid for (nid,) in sqlite_rows(database, "SELECT notification_id FROM sandbox_messages")
    }
    duplicates = {k: sqlite_rows(database, q)[0][0] for k, q in DUPLICATE_COUNTS.items()}
    print(f"after restart: {len(status)} stored, provider duplicates {duplicates}")
    # every stored row, answered or not, is delivered: nothing committed is lost
    assert {nid for nid, s in status.items() if s != "SENT"} == set()
    assert {nid for nid in status if sent_events.get(nid) != 1} == set()
    assert answered <= provider
