"""Two `clarion api` processes behind one Redis: one rate-limit budget, one
cache, and an update through one is never served stale by the other."""

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.stacks import scaled_out

pytestmark = pytest.mark.slow
ADMIN = {"email": "ops@example.com", "password": "two apis test password"}


@pytest.fixture
def two_apis(tmp_path: Path) -> Iterator[tuple[str, str]]:
    with scaled_out(
        tmp_path,
        ADMIN,
        redis_db=13,
        CLARION_RATE_LIMIT_ADMIN="4/minute",
        CLARION_RATE_LIMIT_AUTH="100/minute",
    ) as env:
        yield env.stack.start_api("api-one"), env.stack.start_api("api-two")


def test_two_api_processes_share_the_budget_and_the_cache(two_apis: tuple[str, str]) -> None:
    one, two = two_apis
    token = httpx.post(f"{one}/auth/login", json=ADMIN).json()["accessToken"]
    admin = {"Authorization": f"Bearer {token}"}
    me = httpx.get(f"{one}/auth/me", headers=admin)  # 1st of the 4 per minute
    later = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() + 3600))
    created = httpx.post(  # 2nd
        f"{two}/notifications",
        headers=admin,
        json={
            "userId": me.json()["id"],
            "channel": "IN_APP",
            "type": "REMINDER",
            "priority": "LOW",
            "scheduledFor": later,
            "payload": {"title": "t", "body": "b"},
        },
    )
    assert created.status_code == 201, created.text
    nid = created.json()["id"]
    cached = httpx.get(f"{one}/notifications/{nid}", headers=admin)  # 3rd: fills the cache
    assert cached.json()["priority"] == "LOW"
    changed = httpx.patch(  # 4th, through the other process
        f"{two}/notifications/{nid}", headers=admin, json={"priority": "URGENT"}
    )
    assert changed.status_code == 200
    refused = httpx.get(f"{one}/notifications/{nid}", headers=admin)  # 5th: over budget
    assert refused.status_code == 429
    assert refused.headers["RateLimit"].startswith('"4-per-60s";r=0')
    print("\nrequests 1-4 spread over two processes; the 5th refused by the shared budget")


def test_an_update_through_one_api_is_never_served_stale_by_the_other(
    two_apis: tuple[str, str],
) -> None:
    one, two = two_apis
    token = httpx.post(f"{one}/auth/login", json=ADMIN).json()["accessToken"]
    admin = {"Authorization": f"Bearer {token}"}
    # the budget here is 4 a minute; use an API key with its own, larger one
    key = httpx.post(
        f"{one}/admin/api-keys",
        headers=admin,
        json={"name": "svc", "scopes": ["admin"], "rateLimit": "1000/minute"},
    ).json()["key"]
    service = {"X-API-Key": key}
    me = httpx.get(f"{one}/auth/me", headers=admin).json()["id"]
    later = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() + 3600))
    nid = httpx.post(
        f"{one}/notifications",
        headers=service,
        json={
            "userId": me,
            "channel": "IN_APP",
            "type": "REMINDER",
            "scheduledFor": later,
            "payload": {"title": "t", "body": "b"},
        },
    ).json()["id"]
    stale = 0
    for round_ in range(20):
        assert httpx.get(f"{one}/notifications/{nid}", headers=service).status_code == 200
        metadata = {"round": round_}
        patched = httpx.patch(
            f"{two}/notifications/{nid}", headers=service, json={"metadata": metadata}
        )
        assert patched.status_code == 200
        seen = httpx.get(f"{one}/notifications/{nid}", headers=service).json()["metadata"]
        # the id of the request that accepted it stays beside what was set
        stale += {k: v for k, v in seen.items() if k != "correlationId"} != metadata
    print(f"\n20 updates through one process, read back through the other: {stale} stale")
    assert stale == 0
