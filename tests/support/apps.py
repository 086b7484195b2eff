"""Run Clarion apps in-process for tests, several at once if needed."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from clarion.api.app import create_app
from clarion.bootstrap import build_container
from clarion.config import Settings


def random_ip() -> str:
    return "10." + ".".join(str(secrets.randbelow(250) + 1) for _ in range(3))


@asynccontextmanager
async def running_app(
    settings: Settings, client_ip: str | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """An app on its own container; requests come from `client_ip` (random by
    default, so per-IP budgets kept in a shared Redis never leak between tests)."""
    container = build_container(settings)
    app = create_app(container=container)
    transport = httpx.ASGITransport(
        app=app, raise_app_exceptions=False, client=(client_ip or random_ip(), 50000)
    )
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://clarion.test") as http,
        ):
            yield http
    finally:
        await container.close()


async def signed_in(
    http: httpx.AsyncClient, email: str, password: str = "correct horse battery"
) -> dict[str, str]:
    """Register (if needed) and log in; the Authorization header for the user."""
    await http.post("/auth/register", json={"email": email, "password": password, "name": "T"})
    response = await http.post("/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return {"Authorization": f"Bearer {tokens['accessToken']}"}
