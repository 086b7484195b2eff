"""Findings 8, 9 and 10 of the hardening review: RateLimit headers on every
limited route, no cached views of a deleted user, and an OpenAPI document that
states what the server answers."""

from __future__ import annotations

import httpx
import pytest

from clarion.bootstrap import Container
from tests.conftest import make_settings
from tests.support.apps import running
from tests.support.identity import Caller, World, build_world
from tests.support.notifications import in_app

SAFE = {"get", "put", "post", "delete", "patch"}


@pytest.fixture
async def world(client: httpx.AsyncClient, container: Container) -> World:
    return await build_world(client, container)


async def test_every_limited_notification_route_reports_the_budget(database_url: str) -> None:
    settings = make_settings(
        database_url=database_url, rate_limit_enabled=True, rate_limit_user="1000/minute"
    )
    async with running(settings) as (http, container):
        world = await build_world(http, container)
        a = world.user_a
        created = await http.post("/notifications", json=in_app(a.id), headers=a.headers)
        nid = created.json()["id"]
        batch = await http.post(
            "/notifications/batch", json={"notifications": [in_app(a.id)]}, headers=a.headers
        )
        calls = {
            "POST /notifications": created,
            "POST /notifications/batch": batch,
            "GET /notifications": await http.get("/notifications", headers=a.headers),
            "GET /notifications/{id}": await http.get(f"/notifications/{nid}", headers=a.headers),
            # the second read of each is served from the cache
            "GET /notifications/{id} again": await http.get(
                f"/notifications/{nid}", headers=a.headers
            ),
            "GET /notifications/user/{id}": await http.get(
                f"/notifications/user/{a.id}", headers=a.headers
            ),
            "GET /notifications/user/{id} again": await http.get(
                f"/notifications/user/{a.id}", headers=a.headers
            ),
        }
        missing = [name for name, r in calls.items() if "ratelimit" not in r.headers]
        assert missing == [], f"no RateLimit header on {missing}"
        assert all(r.status_code in (200, 201) for r in calls.values())
        # a batch is charged against the notification budget, reported beside the requests'
        assert '"notifications-' in batch.headers["ratelimit-policy"]
        assert '"notifications-' not in calls["GET /notifications"].headers["ratelimit-policy"]


async def test_a_deleted_users_notifications_are_not_served_from_the_cache(
    client: httpx.AsyncClient, world: World
) -> None:
    b, admin = world.user_b, world.admin.headers
    created = await client.post("/notifications", json=in_app(b.id), headers=admin)
    assert created.status_code == 201
    nid = created.json()["id"]
    listed = await client.get(f"/notifications/user/{b.id}", headers=admin)
    assert [item["id"] for item in listed.json()["items"]] == [nid]
    assert (await client.get(f"/notifications/{nid}", headers=admin)).status_code == 200

    assert (await client.delete(f"/users/{b.id}", headers=admin)).status_code == 204
    after = await client.get(f"/notifications/user/{b.id}", headers=admin)
    assert after.status_code == 200
    assert after.json()["items"] == []
    assert (await client.get(f"/notifications/{nid}", headers=admin)).status_code == 404


async def test_the_document_states_every_error_status_and_both_security_schemes(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/openapi.json")).json()
    schemes = document["components"]["securitySchemes"]
    assert {s["type"] for s in schemes.values()} == {"http", "apiKey"}
    assert "HTTPValidationError" not in document["components"]["schemas"]
    problems = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in SAFE:
                continue
            answers = operation["responses"]
            wanted = set()
            if operation.get("security"):
                wanted |= {"401", "403", "429"}
            if "requestBody" in operation:
                wanted |= {"400", "413", "422"}
            if any(p["in"] == "path" for p in operation.get("parameters", [])):
                wanted.add("404")
            if missing := wanted - set(answers):
                problems.append(f"{method.upper()} {path} lacks {sorted(missing)}")
            for status, answer in answers.items():
                if status[0] in "45":
                    if path.startswith("/unsubscribe/") and "text/html" in answer["content"]:
                        continue  # the link a person opens answers with a page
                    schema = answer["content"]["application/json"]["schema"]
                    if schema != {"$ref": "#/components/schemas/Error"}:
                        problems.append(f"{method.upper()} {path} {status} is not the Error shape")
    assert problems == []
    assert "409" in document["paths"]["/auth/register"]["post"]["responses"]
    assert "503" in document["paths"]["/health/readiness"]["get"]["responses"]


async def test_the_document_states_the_password_length_the_server_enforces(
    database_url: str,
) -> None:
    settings = make_settings(database_url=database_url, password_min_length=14)
    async with running(settings) as (http, _):
        schemas = (await http.get("/openapi.json")).json()["components"]["schemas"]
        assert schemas["RegisterRequest"]["properties"]["password"]["minLength"] == 14
        short = {"email": "p@example.com", "password": "x" * 13, "name": "P"}
        assert (await http.post("/auth/register", json=short)).status_code == 422
        enough = {**short, "password": "x" * 14}
        assert (await http.post("/auth/register", json=enough)).status_code == 201


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("OPTIONS", "/admin/api-keys", "GET, POST"),
        ("PATCH", "/notifications/batch", "POST"),
        ("PUT", "/notifications", "GET, POST"),
        ("DELETE", "/auth/login", "POST"),
    ],
)
async def test_an_undeclared_method_is_a_405_with_every_allowed_method(
    client: httpx.AsyncClient, world: World, method: str, path: str, allowed: str
) -> None:
    response = await client.request(method, path, headers=world.headers(Caller.ADMIN))
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == allowed
