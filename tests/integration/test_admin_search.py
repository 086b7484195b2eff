"""`GET /admin/notifications`: every user's notifications, the list's filters,
and free text over payloads and recipients."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from clarion.api.app import create_app
from clarion.bootstrap import Container
from tests.support.apps import serving, signed_in_admin
from tests.support.identity import admin_creates_user


@pytest.fixture
async def serve(container: Container) -> AsyncIterator[Any]:
    async with serving(create_app(container=container)) as http:
        admin, _ = await signed_in_admin(http, container, "searcher@example.com")
        yield http, admin


async def sent(
    http: httpx.AsyncClient, admin: dict[str, str], user: str, channel: str, payload: dict[str, Any]
) -> str:
    body = {"userId": user, "channel": channel, "type": "TRANSACTIONAL", "payload": payload}
    response = await http.post("/notifications", headers=admin, json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def found(http: httpx.AsyncClient, admin: dict[str, str], **params: Any) -> list[str]:
    """The ids of every match, following the cursor one item at a time."""
    ids: list[str] = []
    cursor = None
    while True:
        query = {**params, "limit": 1, **({"cursor": cursor} if cursor else {})}
        response = await http.get("/admin/notifications", headers=admin, params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        ids += [item["id"] for item in page["items"]]
        cursor = page["nextCursor"]
        if cursor is None:
            return ids


async def test_free_text_finds_content_addresses_and_recipients(serve: Any) -> None:
    http, admin = serve
    alice = await admin_creates_user(http, admin, "alice-search@example.com")
    bob = await admin_creates_user(http, admin, "bob-search@example.com")
    bill = {"to": "billing@acme.example", "subject": "Invoice 42", "body": "."}
    invoice = await sent(http, admin, alice, "EMAIL", bill)
    hello = await sent(http, admin, alice, "IN_APP", {"title": "Hello", "body": "there"})
    code = await sent(http, admin, bob, "SMS", {"to": "+15005550006", "body": "Your code 1234"})
    percent = await sent(http, admin, bob, "IN_APP", {"title": "100%_done", "body": "ok"})
    cafe = await sent(http, admin, bob, "IN_APP", {"title": "Café ouvert", "body": "ok"})

    assert await found(http, admin, q="INVOICE") == [invoice]
    assert await found(http, admin, q="billing@ACME") == [invoice]
    assert await found(http, admin, q="+1500555") == [code]
    # the recipient's own email finds what was sent to them, newest first
    assert await found(http, admin, q="alice-search@") == [hello, invoice]
    # wildcards in the text match themselves
    assert await found(http, admin, q="%_") == [percent]
    assert await found(http, admin, q="Café") == [cafe]
    # with the list's filters
    assert await found(http, admin, q="search@", channel="IN_APP", userId=bob) == [cafe, percent]
    assert await found(http, admin, q="nothing like this") == []
    # no text: every notification, newest first
    assert await found(http, admin) == [cafe, percent, code, hello, invoice]


async def test_bad_search_parameters_are_422(serve: Any) -> None:
    http, admin = serve
    for params, field in (
        ({"q": ""}, "q"),
        ({"q": "x" * 201}, "q"),
        ({"cursor": "nope"}, "cursor"),
        ({"status": "LOST"}, "status.0"),
        ({"userId": "someone"}, "userId"),
    ):
        response = await http.get("/admin/notifications", headers=admin, params=params)
        assert response.status_code == 422, (params, response.text)
        assert [d["field"] for d in response.json()["details"]] == [field], response.text
