"""Send notifications through the API and wait until the workers settle them."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx

SETTLED = {"SENT", "FAILED", "CANCELLED", "NOT_SENT"}


def in_app(user_id: uuid.UUID) -> dict[str, Any]:
    """An in-app ALERT to `user_id`: no address, no provider, sendable by anyone to themself."""
    return {
        "userId": str(user_id),
        "channel": "IN_APP",
        "type": "ALERT",
        "payload": {"title": "Hello", "body": "Inside the app"},
    }


async def posted(http: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]) -> str:
    """POST one notification; its id."""
    response = await http.post("/notifications", headers=headers, json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def settled(
    http: httpx.AsyncClient, headers: dict[str, str], nid: str, within: float = 10.0
) -> dict[str, Any]:
    """The notification once it is SENT, FAILED or CANCELLED; fails after `within`."""
    deadline = time.monotonic() + within
    while True:
        body: dict[str, Any] = (await http.get(f"/notifications/{nid}", headers=headers)).json()
        if body["status"] in SETTLED:
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"notification {nid} still {body['status']} after {within}s")
        await asyncio.sleep(0.02)


async def all_settled(
    http: httpx.AsyncClient, headers: dict[str, str], ids: list[str], within: float = 10.0
) -> list[dict[str, Any]]:
    return [await settled(http, headers, nid, within) for nid in ids]


async def events(
    http: httpx.AsyncClient, headers: dict[str, str], nid: str
) -> list[dict[str, Any]]:
    response = await http.get(f"/notifications/{nid}/events", headers=headers)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found
