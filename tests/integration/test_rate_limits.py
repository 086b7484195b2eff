"""Rate limits on the in-process limiter and on the real Redis.

The tiers are the seed's (3/s, 20/10 s, 100/min by default); the longer tiers
are shown with budgets small enough that a test reaches them in a second.
"""

import uuid

import pytest

from clarion.config import Settings
from tests.conftest import make_settings
from tests.support.apps import running, running_app, signed_in, signed_in_admin
from tests.support.databases import REDIS_URL

SEED_POLICY = '"3-per-1s";q=3;w=1, "20-per-10s";q=20;w=10, "100-per-60s";q=100;w=60'

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])


@pytest.fixture(params=["memory", "redis"])
def limiter(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def limited(database_url: str, limiter: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "rate_limit_enabled": True,
        "rate_limit_auth": "1000/minute",
    }
    if limiter == "redis":
        values["redis_url"] = REDIS_URL
    values.update(overrides)
    return make_settings(**values)


def email() -> str:
    return f"{uuid.uuid4().hex[:12]}@example.com"


async def test_the_per_second_tier_refuses_the_fourth_request(
    database_url: str, limiter: str
) -> None:
    async with running_app(limited(database_url, limiter)) as http:
        auth = await signed_in(http, email())
        responses = [await http.get("/auth/me", headers=auth) for _ in range(4)]

    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert [r.headers["RateLimit"] for r in responses[:3]] == [
        '"3-per-1s";r=2;t=1',
        '"3-per-1s";r=1;t=1',
        '"3-per-1s";r=0;t=1',
    ]
    for response in responses:
        assert response.headers["RateLimit-Policy"] == SEED_POLICY
    refused = responses[3]
    assert refused.json()["code"] == "rate_limited"
    assert refused.json()["status"] == 429
    assert int(refused.headers["Retry-After"]) == 1


@pytest.mark.parametrize(
    ("tiers", "binding", "min_retry_after"),
    [
        ("100/second;5/10 seconds;100/minute", '"5-per-10s"', 8),
        ("100/second;100/10 seconds;5/minute", '"5-per-60s"', 55),
    ],
)
async def test_the_longer_tiers_refuse_with_their_own_retry_after(
    database_url: str, limiter: str, tiers: str, binding: str, min_retry_after: int
) -> None:
    async with running_app(limited(database_url, limiter, rate_limit_user=tiers)) as http:
        auth = await signed_in(http, email())
        statuses = [(await http.get("/auth/me", headers=auth)).status_code for _ in range(5)]
        refused = await http.get("/auth/me", headers=auth)

    assert statuses == [200] * 5
    assert refused.status_code == 429
    assert refused.headers["RateLimit"].startswith(f"{binding};r=0;")
    assert int(refused.headers["Retry-After"]) >= min_retry_after


async def test_login_has_its_own_stricter_limit_per_ip(database_url: str, limiter: str) -> None:
    settings = limited(database_url, limiter, rate_limit_auth="3/minute")
    async with running_app(settings) as http:
        address = email()
        attempts = [
            await http.post("/auth/login", json={"email": address, "password": "wrong one!"})
            for _ in range(4)
        ]
    assert [a.status_code for a in attempts] == [401, 401, 401, 429]
    assert int(attempts[3].headers["Retry-After"]) >= 50


async def test_an_api_key_carries_its_own_limit(database_url: str, limiter: str) -> None:
    settings = limited(database_url, limiter, rate_limit_admin="1000/second")
    async with running(settings) as (http, container):
        admin, _ = await signed_in_admin(http, container, email())
        created = await http.post(
            "/admin/api-keys",
            headers=admin,
            json={"name": "billing", "scopes": ["notifications:write"], "rateLimit": "2/second"},
        )
        assert created.status_code == 201, created.text
        key = {"X-API-Key": created.json()["key"]}
        statuses = [(await http.get("/auth/me", headers=key)).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


async def test_limits_can_be_turned_off(database_url: str, limiter: str) -> None:
    settings = limited(database_url, limiter, rate_limit_enabled=False)
    async with running_app(settings) as http:
        auth = await signed_in(http, email())
        responses = [await http.get("/auth/me", headers=auth) for _ in range(10)]
    assert {r.status_code for r in responses} == {200}
    assert all("RateLimit" not in r.headers for r in responses)


@pytest.mark.parametrize(("limiter", "shared"), [("redis", True), ("memory", False)])
async def test_two_app_instances_share_one_budget_through_redis(
    database_url: str, limiter: str, shared: bool
) -> None:
    settings = limited(database_url, limiter, rate_limit_user="4/minute")
    async with running_app(settings) as first, running_app(settings) as second:
        auth = await signed_in(first, email())
        statuses = [
            (await app.get("/auth/me", headers=auth)).status_code
            for app in (first, second, first, second, first, second)
        ]
    if shared:
        assert statuses == [200, 200, 200, 200, 429, 429]
    else:
        assert statuses == [200] * 6
