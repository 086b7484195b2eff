"""One-click unsubscribe (RFC 8058) as a mail client and a user meet it."""

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from clarion.api.app import create_app
from clarion.bootstrap import Container
from clarion.domain.time import utcnow
from clarion.services.unsubscribe import UnsubscribeLinks
from tests.support.apps import serving, signed_in, signed_in_admin
from tests.support.notifications import events, posted, settled


@pytest.fixture
async def serve(container: Container) -> AsyncIterator[Any]:
    app = create_app(container=container, workers=True)
    # a client of its own, as a mail client is: no credentials, no cookies
    bare = httpx.ASGITransport(app=app, client=("192.0.2.7", 50000))
    async with (
        serving(app) as http,
        httpx.AsyncClient(transport=bare, base_url="http://clarion.test") as stranger,
    ):
        admin, _ = await signed_in_admin(http, container, "unsub-admin@example.com")
        yield http, stranger, admin, container


def email(user_id: str, type_: str) -> dict[str, Any]:
    return {
        "userId": user_id,
        "channel": "EMAIL",
        "type": type_,
        "payload": {"subject": "News", "body": "Our spring sale"},
    }


async def sent_headers(http: httpx.AsyncClient, admin: dict[str, str], nid: str) -> dict[str, str]:
    messages = (await http.get("/admin/sandbox/messages?limit=50", headers=admin)).json()
    [message] = [m for m in messages if m["notificationId"] == nid]
    return dict(message["content"].get("headers", []))


async def a_user(http: httpx.AsyncClient) -> str:
    headers = await signed_in(http, f"reader-{uuid.uuid4().hex[:8]}@example.com")
    return str((await http.get("/auth/me", headers=headers)).json()["id"])


async def test_a_one_click_post_opts_the_user_out_of_marketing_email_only(serve: Any) -> None:
    http, stranger, admin, _ = serve
    user = await a_user(http)
    marketing = await posted(http, admin, email(user, "MARKETING"))
    transactional = await posted(http, admin, email(user, "TRANSACTIONAL"))
    assert (await settled(http, admin, marketing))["status"] == "SENT"
    assert (await settled(http, admin, transactional))["status"] == "SENT"
    headers = await sent_headers(http, admin, marketing)
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = headers["List-Unsubscribe"].strip("<>")
    assert link.startswith("http://127.0.0.1:8000/unsubscribe/")
    assert await sent_headers(http, admin, transactional) == {}  # only marketing mail

    # what a mail client sends: no cookie, no credentials, the RFC's body
    path = link.removeprefix("http://127.0.0.1:8000")
    body = {"content": b"List-Unsubscribe=One-Click"}
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for _ in range(2):  # the second click answers the same and changes nothing
        answer = await stranger.post(path, headers=form, **body)
        assert answer.status_code == 200, answer.text
        assert "location" not in answer.headers
    prefs = (await http.get(f"/users/{user}/preferences", headers=admin)).json()
    assert prefs["typeChannels"] == {"MARKETING": {"EMAIL": False}}

    later = await posted(http, admin, email(user, "MARKETING"))
    not_sent = await settled(http, admin, later)
    assert not_sent["status"] == "NOT_SENT"
    assert not_sent["errorMessage"] == "MARKETING on EMAIL is off"
    assert (await events(http, admin, later))[-1]["metadata"]["rule"] == "type+channel"
    receipt = await posted(http, admin, email(user, "TRANSACTIONAL"))
    assert (await settled(http, admin, receipt))["status"] == "SENT"


async def test_forged_altered_and_expired_links_change_nothing(serve: Any) -> None:
    http, stranger, admin, container = serve
    user = await a_user(http)
    links = container.unsubscribe_links
    good = links.link(uuid.UUID(user), utcnow()).split("/unsubscribe/")[1]
    head, claims, signature = good.split(".")
    altered_signature = (
        f"{head}.{claims}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    )
    other = await a_user(http)
    someone_elses = links.link(uuid.UUID(other), utcnow()).split("/unsubscribe/")[1]
    swapped_claims = f"{head}.{someone_elses.split('.')[1]}.{signature}"
    expired = links.link(uuid.UUID(user), utcnow() - timedelta(days=61)).split("/unsubscribe/")[1]
    forged = UnsubscribeLinks(secret=b"x" * 48, base_url="http://x", days=60)
    foreign = forged.link(uuid.UUID(user), utcnow()).split("/unsubscribe/")[1]
    for token in (altered_signature, swapped_claims, expired, foreign, "not-a-token"):
        answer = await stranger.post(f"/unsubscribe/{token}", content=b"List-Unsubscribe=One-Click")
        assert answer.status_code == 400, token
        page = await stranger.get(f"/unsubscribe/{token}")
        assert page.status_code == 400
        assert "not valid" in page.text
    for who in (user, other):
        prefs = (await http.get(f"/users/{who}/preferences", headers=admin)).json()
        assert prefs["typeChannels"] == {}


async def test_opening_the_link_shows_a_button_and_changes_nothing(serve: Any) -> None:
    http, stranger, admin, container = serve
    user = await a_user(http)
    token = container.unsubscribe_links.link(uuid.UUID(user), utcnow()).split("/unsubscribe/")[1]
    page = await stranger.get(f"/unsubscribe/{token}")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<form method="post">' in page.text
    prefs = (await http.get(f"/users/{user}/preferences", headers=admin)).json()
    assert prefs["typeChannels"] == {}
    # the page's button posts the same one-click form
    clicked = await stranger.post(
        f"/unsubscribe/{token}",
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert clicked.status_code == 200
    assert "unsubscribed" in clicked.text
