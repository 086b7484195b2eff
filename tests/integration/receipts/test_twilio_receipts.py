"""Twilio status callbacks through POST /webhooks/twilio, and both webhooks unconfigured.

Twilio's requests are signed with the function Clarion verifies with, over the
configured public callback URL; that function is checked against a value worked
out by hand in tests/integration/providers/test_twilio.py. What a user sees is
read back through the API: the notification and its events.
"""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from clarion.bootstrap import Container
from tests.conftest import make_settings
from tests.support.apps import running, signed_in
from tests.support.identity import error_shape_problem
from tests.support.receipts import (
    Owner,
    configured,
    counts,
    post_twilio,
    seen,
    sendgrid_event,
    sendgrid_headers,
    sent_notification,
    status_form,
    twilio_headers,
    types,
)


async def test_twilio_delivered_moves_the_sms_to_delivered(
    client: httpx.AsyncClient, container: Container, owner: Owner
) -> None:
    """Signed over the configured public URL, not the URL the request reached."""
    sid = "SM" + "1" * 32
    nid = await sent_notification(container, owner, provider="twilio", message_id=sid)
    sent = await post_twilio(client, status_form(sid, "sent"))
    assert (sent.status_code, sent.json()) == (200, counts(ignored=1))
    delivered = await post_twilio(client, status_form(sid, "delivered"))
    assert (delivered.status_code, delivered.json()) == (200, counts(applied=1))
    found, events = await seen(client, owner, nid)
    assert (found["status"], found["receipt"]) == ("SENT", "DELIVERED")
    assert types(events) == ["CREATED", "SENT", "DELIVERED"]
    assert events[-1]["metadata"]["providerEventId"] == f"{sid}:delivered"


async def test_a_replayed_twilio_callback_changes_nothing(
    client: httpx.AsyncClient, container: Container, owner: Owner
) -> None:
    sid = "SM" + "2" * 32
    nid = await sent_notification(container, owner, provider="twilio", message_id=sid)
    form = status_form(sid, "delivered")
    assert (await post_twilio(client, form)).json() == counts(applied=1)
    after_first = await seen(client, owner, nid)
    replay = await post_twilio(client, form)
    assert (replay.status_code, replay.json()) == (200, counts(duplicates=1))
    assert await seen(client, owner, nid) == after_first


async def test_twilio_undelivered_fails_the_sms_with_the_error_code(
    client: httpx.AsyncClient, container: Container, owner: Owner
) -> None:
    sid = "SM" + "3" * 32
    nid = await sent_notification(container, owner, provider="twilio", message_id=sid)
    answer = await post_twilio(client, status_form(sid, "undelivered", ErrorCode="30003"))
    assert answer.json() == counts(applied=1)
    found, events = await seen(client, owner, nid)
    assert found["status"] == "FAILED"
    assert "30003" in found["errorMessage"]
    assert types(events)[-1] == "FAILED"
    assert events[-1]["metadata"]["errorCode"] == "30003"


TWILIO_FORGERIES = [
    "wrong auth token",
    "tampered parameter",
    "added parameter",
    "signed for another URL",
    "unsigned",
    "unsigned with the user's bearer token",
]


def twilio_forgery(name: str, sid: str) -> tuple[dict[str, str], dict[str, str]]:
    """(form posted, headers sent) for a request Twilio did not sign as it arrives."""
    form = status_form(sid, "delivered")
    if name == "wrong auth token":
        return form, twilio_headers(form, token="someone-elses-token")
    if name == "tampered parameter":
        return form, twilio_headers(status_form(sid, "sent"))
    if name == "added parameter":
        return status_form(sid, "delivered", ErrorCode=""), twilio_headers(form)
    if name == "signed for another URL":
        return form, twilio_headers(form, url="http://clarion.test/webhooks/twilio")
    return form, {}


@pytest.mark.parametrize("forgery", TWILIO_FORGERIES)
async def test_a_callback_twilio_did_not_sign_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, container: Container, owner: Owner, forgery: str
) -> None:
    sid = "SM" + "4" * 32
    nid = await sent_notification(container, owner, provider="twilio", message_id=sid)
    before = await seen(client, owner, nid)
    form, headers = twilio_forgery(forgery, sid)
    if "bearer" in forgery:
        headers |= owner.headers
    answer = await post_twilio(client, form, headers)
    assert answer.status_code == 403, answer.text
    assert error_shape_problem(answer, "invalid_signature") is None
    assert await seen(client, owner, nid) == before


async def test_without_a_public_callback_url_twilio_signs_the_url_it_reached(
    database_url: str,
) -> None:
    settings = configured(database_url, twilio_status_callback_url=None)
    async with running(settings) as (http, container):
        owner_headers = await signed_in(http, "sms-reader@example.com")
        me = (await http.get("/auth/me", headers=owner_headers)).json()
        owner = Owner(uuid.UUID(me["id"]), owner_headers)
        sid = "SM" + "5" * 32
        nid = await sent_notification(container, owner, provider="twilio", message_id=sid)
        form = status_form(sid, "delivered")
        here = twilio_headers(form, url="http://clarion.test/webhooks/twilio")
        answer = await post_twilio(http, form, here)
        assert (answer.status_code, answer.json()) == (200, counts(applied=1))
        found, _ = await seen(http, owner, nid)
        assert found["receipt"] == "DELIVERED"


# --- unconfigured -------------------------------------------------------------------


async def test_an_unconfigured_webhook_refuses_even_well_signed_requests(
    database_url: str,
) -> None:
    """With no key or auth token, nothing can be verified, so nothing is accepted."""
    settings = make_settings(database_url=database_url)
    body = json.dumps([sendgrid_event("delivered", "sg-8")]).encode()
    form = status_form("SM" + "6" * 32, "delivered")
    async with running(settings) as (http, _):
        answers = [
            await http.post("/webhooks/sendgrid", content=body, headers=sendgrid_headers(body)),
            await http.post("/webhooks/twilio", data=form, headers=twilio_headers(form)),
        ]
    for answer in answers:
        assert answer.status_code == 403, answer.text
        assert error_shape_problem(answer, "forbidden") is None


async def test_a_twilio_receipt_shows_in_a_view_cached_before_it(
    client: httpx.AsyncClient, container: Container, owner: Owner
) -> None:
    sid = "SM" + "7" * 32
    nid = await sent_notification(container, owner, provider="twilio", message_id=sid)
    await seen(client, owner, nid)  # cached for ten minutes
    assert (await post_twilio(client, status_form(sid, "delivered"))).json() == counts(applied=1)
    found, _ = await seen(client, owner, nid)
    assert found["receipt"] == "DELIVERED"
