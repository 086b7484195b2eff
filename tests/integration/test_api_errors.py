"""Every error has one JSON shape and the right status; nothing leaks."""

import json

import httpx
import pytest
from fastapi import APIRouter

from clarion.api.app import create_app
from clarion.bootstrap import Container
from tests.support.apps import serving

SHAPE = {"status", "code", "message", "details"}


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, object] = response.json()
    assert set(body) == SHAPE
    assert body["status"] == status
    assert body["code"] == code
    assert isinstance(body["message"], str)
    assert body["message"]
    return body


async def test_malformed_json_gets_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/auth/register",
        content=b'{"email": "a@example.com", "password": ',
        headers={"content-type": "application/json"},
    )
    assert_error(response, 400, "invalid_json")


async def test_invalid_fields_get_422_with_field_paths(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/auth/register", json={"email": "not-an-email", "password": "long enough pw"}
    )
    body = assert_error(response, 422, "validation_error")
    fields = {(d["location"], d["field"]) for d in body["details"]}  # type: ignore[attr-defined]
    assert ("body", "email") in fields
    assert ("body", "name") in fields
    assert "not-an-email" not in response.text  # the rejected input is not echoed


async def test_unknown_fields_are_rejected(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/auth/register",
        json={"email": "a@example.com", "password": "long enough pw", "name": "A", "admin": True},
    )
    body = assert_error(response, 422, "validation_error")
    assert body["details"] == [
        {
            "location": "body",
            "field": "admin",
            "message": "Extra inputs are not permitted",
            "type": "extra_forbidden",
        }
    ]


async def test_a_password_is_never_echoed_in_an_error(client: httpx.AsyncClient) -> None:
    secret = "hunter2-is-my-password"
    response = await client.post(
        "/auth/register", json={"email": "bad", "password": secret, "name": ""}
    )
    assert_error(response, 422, "validation_error")
    assert secret not in response.text


async def test_unknown_route_gets_404(client: httpx.AsyncClient) -> None:
    body = assert_error(await client.get("/no/such/route"), 404, "not_found")
    assert "/no/such/route" in str(body["message"])


async def test_wrong_method_gets_405_with_allow(client: httpx.AsyncClient) -> None:
    response = await client.delete("/auth/login")
    assert_error(response, 405, "method_not_allowed")
    assert "POST" in response.headers["allow"]


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_body_over_the_limit_gets_413(client: httpx.AsyncClient, backend: str) -> None:
    big = json.dumps({"email": "a@example.com", "password": "x" * 2_000_000, "name": "A"})
    response = await client.post(
        "/auth/register", content=big, headers={"content-type": "application/json"}
    )
    assert_error(response, 413, "payload_too_large")


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_crash_gets_500_without_internals(container: Container, backend: str) -> None:
    app = create_app(container=container)
    boom = APIRouter()

    @boom.get("/boom")
    async def crash() -> None:
        raise RuntimeError("secret internal detail at /srv/clarion/db.py")

    app.include_router(boom)
    async with serving(app) as http:
        response = await http.get("/boom")
    assert_error(response, 500, "internal_error")
    assert "secret internal detail" not in response.text
    assert "Traceback" not in response.text


async def test_responses_carry_security_headers(client: httpx.AsyncClient) -> None:
    for response in (await client.get("/health/liveness"), await client.get("/nope")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "default-src 'none'" in response.headers["content-security-policy"]
        assert "strict-transport-security" not in response.headers


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_hsts_is_sent_over_https(client: httpx.AsyncClient, backend: str) -> None:
    response = await client.get("https://clarion.test/health/liveness")
    assert response.headers["strict-transport-security"].startswith("max-age=")


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_docs_are_served_from_the_package(client: httpx.AsyncClient, backend: str) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    assert "/docs-assets/swagger-ui-bundle.js" in page.text
    assert "cdn." not in page.text
    script = await client.get("/docs-assets/swagger-ui-bundle.js")
    assert script.status_code == 200
    assert len(script.content) > 100_000
    spec = (await client.get("/openapi.json")).json()
    assert {"/health/readiness", "/auth/login", "/users/{user_id}"} <= set(spec["paths"])


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_streamed_body_over_the_limit_gets_413(
    client: httpx.AsyncClient, backend: str
) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        yield b'{"email": "a@example.com", "password": "'
        for _ in range(40):
            yield b"x" * 65_536
        yield b'", "name": "A"}'

    response = await client.post(
        "/auth/register", content=chunks(), headers={"content-type": "application/json"}
    )
    assert_error(response, 413, "payload_too_large")


async def test_a_nul_character_is_refused_with_422_on_every_backend(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/auth/register",
        json={"email": "nul@example.com", "password": "long enough pw", "name": "A\u0000B"},
    )
    assert_error(response, 422, "validation_error")
