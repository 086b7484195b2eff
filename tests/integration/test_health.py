"""Readiness reports each component; a component that is down makes it 503."""

import httpx
import pytest

from tests.conftest import make_settings
from tests.support.apps import running, running_app, signed_in_admin


async def test_readiness_lists_database_queue_and_cache(
    client: httpx.AsyncClient, backend: str
) -> None:
    response = await client.get("/health/readiness")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["components"]["database"]["status"] == "up"
    assert body["components"]["database"]["kind"] == backend
    assert body["components"]["queue"]["kind"] == "embedded"
    assert body["components"]["cache"]["kind"] == "memory"


async def test_health_gives_version_uptime_and_components(client: httpx.AsyncClient) -> None:
    body = (await client.get("/health")).json()
    assert body["status"] == "ok"
    assert body["version"]
    assert body["uptimeSeconds"] >= 0
    assert set(body["components"]) == {"database", "queue", "cache"}


async def test_liveness_answers_without_touching_components(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/liveness")
    assert response.status_code == 200
    assert response.json() == {"status": "alive"}


async def probe(**settings: object) -> httpx.Response:
    async with running_app(make_settings(health_timeout_seconds=1.0, **settings)) as http:
        return await http.get("/health/readiness")


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_an_unreachable_database_makes_readiness_503_naming_it(
    backend: str,
) -> None:
    response = await probe(database_url="postgresql://nobody@127.0.0.1:1/none")
    assert response.status_code == 503
    body = response.json()
    assert body["code"] == "not_ready"
    assert "database" in body["message"]
    assert [d["component"] for d in body["details"]] == ["database"]
    assert "nobody" not in response.text


async def test_an_unreachable_redis_makes_readiness_503_naming_the_cache(
    database_url: str,
) -> None:
    response = await probe(database_url=database_url, redis_url="redis://127.0.0.1:1/0")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == 503
    assert [d["component"] for d in body["details"]] == ["cache"]


async def test_a_reachable_redis_is_reported_as_the_cache(database_url: str) -> None:
    response = await probe(database_url=database_url, redis_url="redis://127.0.0.1:6379/15")
    assert response.status_code == 200
    assert response.json()["components"]["cache"]["kind"] == "redis"


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_redis_outage_does_not_fail_sending(database_url: str, backend: str) -> None:
    """The cache is an optimisation: with Redis down, notifications are still
    accepted and read from the database, and readiness says what is down."""
    settings = make_settings(
        database_url=database_url, redis_url="redis://127.0.0.1:1/0", rate_limit_enabled=True
    )
    async with running(settings) as (http, container):
        admin, admin_id = await signed_in_admin(http, container, "outage@example.com")
        created = await http.post(
            "/notifications",
            headers=admin,
            json={
                "userId": str(admin_id),
                "channel": "IN_APP",
                "type": "ALERT",
                "payload": {"title": "t", "body": "b"},
            },
        )
        assert created.status_code == 201, created.text
        read = await http.get(f"/notifications/{created.json()['id']}", headers=admin)
        assert read.status_code == 200
        assert container.cache_stats.errors > 0
        assert (await http.get("/health/readiness")).status_code == 503
