"""Run Clarion apps in-process for tests, several at once if needed."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import httpx
from fastapi import FastAPI

from clarion.api.app import create_app
from clarion.bootstrap import Container, build_container
from clarion.config import Settings
from clarion.domain.enums import Role


def random_ip() -> str:
    return "10." + ".".join(str(secrets.randbelow(250) + 1) for _ in range(3))


@asynccontextmanager
async def serving(app: FastAPI, client_ip: str | None = None) -> AsyncIterator[httpx.AsyncClient]:
    """The app through its lifespan, and a client that calls it in-process.
    Requests come from `client_ip` (random by default, so per-IP budgets kept in
    a shared Redis never leak between tests)."""
    transport = httpx.ASGITransport(
        app=app, raise_app_exceptions=False, client=(client_ip or random_ip(), 50000)
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://clarion.test") as http,
    ):
        yield http


@asynccontextmanager
async def running(
    settings: Settings, client_ip: str | None = None, *, workers: bool = False
) -> AsyncIterator[tuple[httpx.AsyncClient, Container]]:
    """An app on a container of its own, closed afterwards. With `workers`, the
    consumers and scheduler run in-process, as in `clarion serve`."""
    container = build_container(settings)
    try:
        async with serving(create_app(container=container, workers=workers), client_ip) as http:
            yield http, container
    finally:
        await container.close()


@asynccontextmanager
async def running_app(
    settings: Settings, client_ip: str | None = None, *, workers: bool = False
) -> AsyncIterator[httpx.AsyncClient]:
    async with running(settings, client_ip, workers=workers) as (http, _):
        yield http


async def signed_in(
    http: httpx.AsyncClient, email: str, password: str = "correct horse battery"
) -> dict[str, str]:
    """Register (if needed) and log in; the Authorization header for the user."""
    await http.post("/auth/register", json={"email": email, "password": password, "name": "T"})
    response = await http.post("/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return {"Authorization": f"Bearer {tokens['accessToken']}"}


async def promote_to_admin(container: Container, user_id: uuid.UUID) -> None:
    uow = container.unit_of_work()
    try:
        user = await uow.users.get(user_id)
        assert user is not None
        await uow.users.save(replace(user, role=Role.ADMIN))
        container.auth.principals.forget_user(uow, user_id)
        await uow.commit()
    finally:
        await uow.close()


async def signed_in_admin(
    http: httpx.AsyncClient, container: Container, email: str
) -> tuple[dict[str, str], uuid.UUID]:
    """A fresh admin's Authorization header and id."""
    headers = await signed_in(http, email)
    me = (await http.get("/auth/me", headers=headers)).json()
    await promote_to_admin(container, uuid.UUID(me["id"]))
    return headers, uuid.UUID(me["id"])
