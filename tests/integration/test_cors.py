"""Browsers may call the API only from the origins in CLARION_CORS_ORIGINS."""

import pytest

from tests.conftest import make_settings
from tests.support.apps import running_app

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])

PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization,content-type",
}


async def test_an_allowed_origin_passes_preflight(database_url: str) -> None:
    settings = make_settings(database_url=database_url, cors_origins="https://app.example.com")
    async with running_app(settings) as http:
        response = await http.options(
            "/auth/login", headers={"Origin": "https://app.example.com", **PREFLIGHT}
        )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "https://app.example.com"


async def test_other_origins_are_not_allowed(database_url: str) -> None:
    settings = make_settings(database_url=database_url, cors_origins="https://app.example.com")
    async with running_app(settings) as http:
        preflight = await http.options(
            "/auth/login", headers={"Origin": "https://evil.example.net", **PREFLIGHT}
        )
        simple = await http.get("/health/liveness", headers={"Origin": "https://evil.example.net"})
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-origin" not in simple.headers


async def test_no_origin_is_allowed_by_default(database_url: str) -> None:
    async with running_app(make_settings(database_url=database_url)) as http:
        response = await http.get("/health/liveness", headers={"Origin": "https://app.example.com"})
    assert "access-control-allow-origin" not in response.headers
