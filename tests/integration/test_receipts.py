"""Provider receipts through the webhooks, signed the way SendGrid and Twilio sign.

SendGrid's key pair is a real P-256 key made here; its public half is configured
as SendGrid shows it (base64 DER). Twilio's requests are signed with the helper
Clarion itself verifies with, over the configured public callback URL. What a
user sees is read back through the API: the notification and its events.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from clarion.adapters.providers.twilio_signature import twilio_signature
from clarion.bootstrap import Container
from clarion.config import Settings
from clarion.domain.enums import Channel, EventType, NotificationStatus, NotificationType, Priority
from clarion.domain.notifications import NewNotification
from clarion.domain.pipeline import DeliveryOutcome
from clarion.domain.time import utcnow
from tests.conftest import make_settings
from tests.support.apps import running, signed_in
from tests.support.identity import error_shape_problem

SENDGRID_KEY = ec.generate_private_key(ec.SECP256R1())
AUTH_TOKEN = "twilio-auth-token-used-by-the-tests"
CALLBACK_URL = "https://clarion.example.com/webhooks/twilio"
MAX_AGE = 300


def public_key_as_sendgrid_shows_it(key: ec.EllipticCurvePrivateKey) -> str:
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def configured(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "sendgrid_webhook_public_key": public_key_as_sendgrid_shows_it(SENDGRID_KEY),
        "twilio_auth_token": AUTH_TOKEN,
        "twilio_status_callback_url": CALLBACK_URL,
        "receipt_max_age_seconds": MAX_AGE,
    }
    values.update(overrides)
    return make_settings(**values)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return configured(database_url)


@dataclass(frozen=True)
class Owner:
    id: uuid.UUID
    headers: dict[str, str]


@pytest.fixture
async def owner(client: httpx.AsyncClient) -> Owner:
    headers = await signed_in(client, f"{uuid.uuid4().hex[:10]}@example.com")
    me = await client.get("/auth/me", headers=headers)
    return Owner(uuid.UUID(me.json()["id"]), headers)


async def sent_notification(
    container: Container, owner: Owner, *, provider: str, message_id: str
) -> uuid.UUID:
    """A notification the pipeline handed to `provider`, which answered `message_id`:
    stored, claimed and recorded SENT through the repository calls a worker makes."""
    channel = Channel.SMS if provider == "twilio" else Channel.EMAIL
    item = NewNotification(
        user_id=owner.id,
        channel=channel,
        type=NotificationType.TRANSACTIONAL,
        priority=Priority.MEDIUM,
        payload={"subject": "Your order", "body": "It shipped."},
        metadata=None,
        scheduled_for=None,
    )
    uow = container.unit_of_work()
    try:
        now = utcnow()
        # a second apart: events are listed by time
        await uow.notifications.add_many([item], now - timedelta(seconds=1))
        assert await uow.notifications.claim([item.id], now)
        outcome = DeliveryOutcome(
            notification_id=item.id,
            user_id=owner.id,
            channel=channel,
            status=NotificationStatus.SENT,
            event=EventType.SENT,
            provider=provider,
            provider_message_id=message_id,
        )
        await uow.notifications.record_outcomes([outcome], now, claimed_at=now)
        await uow.commit()
    finally:
        await uow.close()
    return item.id


async def seen(
    client: httpx.AsyncClient, owner: Owner, notification_id: uuid.UUID
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The notification and its events, as its owner reads them through the API."""
    found = await client.get(f"/notifications/{notification_id}", headers=owner.headers)
    events = await client.get(f"/notifications/{notification_id}/events", headers=owner.headers)
    assert (found.status_code, events.status_code) == (200, 200), found.text + events.text
    return found.json(), events.json()


def types(events: list[dict[str, Any]]) -> list[str]:
    return [event["type"] for event in events]


# --- SendGrid ----------------------------------------------------------------------


def sendgrid_event(
    name: str, message_id: str, notification_id: uuid.UUID | None = None
) -> dict[str, Any]:
    """An event as SendGrid posts it; our custom arg arrives as a top-level key."""
    event: dict[str, Any] = {
        "email": "reader@example.com",
        "event": name,
        "sg_event_id": uuid.uuid4().hex,
        "sg_message_id": f"{message_id}.filterdrecv-5d8d4c5d4c-abcde-1-5F2A3E4B-1.0",
        "timestamp": int(time.time()),
    }
    if notification_id is not None:
        event["notification_id"] = str(notification_id)
    return event


def sendgrid_headers(
    body: bytes, *, key: ec.EllipticCurvePrivateKey = SENDGRID_KEY, age: int = 0
) -> dict[str, str]:
    timestamp = str(int(time.time()) - age)
    signature = key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        "Content-Type": "application/json",
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
    }


async def post_sendgrid(
    client: httpx.AsyncClient, events: list[dict[str, Any]], **signing: Any
) -> httpx.Response:
    body = json.dumps(events).encode()
    return await client.post(
        "/webhooks/sendgrid", content=body, headers=sendgrid_headers(body, **signing)
    )


def counts(
    applied: int = 0, duplicates: int = 0, unknown: int = 0, ignored: int = 0
) -> dict[str, int]:
    return {"applied": applied, "duplicates": duplicates, "unknown": unknown, "ignored": ignored}


async def test_delivered_open_click_move_the_receipt_forward_once_each(
    client: httpx.AsyncClient, container: Container, owner: Owner
) -> None:
    nid = await sent_notification(container, owner, provider="sendgrid", message_id="sg-1")
    before, _ = await seen(client, owner, nid)  # the owner's view is cached from here on
    assert (before["status"], before["receipt"]) == ("SENT", None)
    sent_ids = []
    for name, receipt in (("delivered", "DELIVERED"), ("open", "OPENED"), ("click", "CLICKED")):
        event = sendgrid_event(name, "sg-1", nid)
        sent_ids.append(event["sg_event_id"])
        # a minute old: well inside the five-minute window
        answer = await post_sendgrid(client, [event], age=60)
        assert answer.status_code == 200, answer.text
        assert answer.json() == counts(applied=1)
        now, _ = await seen(client, owner, nid)
        assert (now["status"], now["receipt"]) == ("SENT", receipt), name

    _, events = await seen(client, owner, nid)
    assert types(events) == ["CREATED", "SENT", "DELIVERED", "OPENED", "CLICKED"]
    receipts = events[2:]
    assert [e["metadata"]["providerEventId"] for e in receipts] == sent_ids
    assert {e["metadata"]["provider"] for e in receipts} == {"sendgrid"}
    assert "reader@example.com" not in json.dumps(events)


async def test_an_event_without_our_custom_arg_is_matched_by_sendgrids_message_id(
    client: httpx.AsyncClient, container: Container, owner: Owner
) -> None:
    nid = await sent_notification(container, owner, provider="sendgrid", message_id="sg-2")
    answer = await post_sendgrid(client, [sendgrid_event("delivered", "sg-2")])
    assert answer.json() == counts(applied=1)
    found, events = await seen(client, owner, nid)
    assert found["receipt"] == "DELIVERED"
    assert types(events)[-1] == "DELIVERED"


async def test_a_replayed_request_changes_nothing_and_is_counted_as_a_duplicate(
    client: httpx.AsyncClient, container: Container, owner: Owner
) -> None:
    nid = await sent_notification(container, owner, provider="sendgrid", message_id="sg-3")
    events = [sendgrid_event("delivered", "sg-3", nid)]
    first = await post_sendgrid(client, events)
    assert first.json() == counts(applied=1)
    after_first = await seen(client, owner, nid)
    replay = await post_sendgrid(client, events)  # the same body, signed afresh
    assert replay.status_code == 200, replay.text
    assert replay.json() == counts(duplicates=1)
    assert await seen(client, owner, nid) == after_first
    assert types(after_first[1]).count("DELIVERED") == 1


async def test_a_delivered_after_a_click_is_recorded_but_does_not_move_the_receipt_back(
    client: httpx.AsyncClient, container: Container, owner: Owner
) -> None:
    nid = await sent_notification(container, owner, provider="sendgrid", message_id="sg-4")
    for name in ("click", "delivered"):
        answer = await post_sendgrid(client, [sendgrid_event(name, "sg-4", nid)])
        assert answer.json() == counts(applied=1), name
    found, events = await seen(client, owner, nid)
    assert (found["status"], found["receipt"]) == ("SENT", "CLICKED")
    assert types(events) == ["CREATED", "SENT", "CLICKED", "DELIVERED"]


async def test_a_bounce_fails_a_sent_notification_with_the_reason(
    client: httpx.AsyncClient, container: Container, owner: Owner
) -> None:
    nid = await sent_notification(container, owner, provider="sendgrid", message_id="sg-5")
    bounce = sendgrid_event("bounce", "sg-5", nid) | {
        "reason": "550 5.1.1 The email account that you tried to reach does not exist",
        "type": "bounce",
    }
    answer = await post_sendgrid(client, [bounce])
    assert answer.json() == counts(applied=1)
    found, events = await seen(client, owner, nid)
    assert found["status"] == "FAILED"
    assert found["failedAt"] is not None
    assert "550 5.1.1" in found["errorMessage"]
    assert types(events)[-1] == "FAILED"
    assert events[-1]["metadata"]["reason"] == bounce["reason"]


async def test_events_clarion_does_not_use_or_cannot_match_are_acknowledged(
    client: httpx.AsyncClient, container: Container, owner: Owner
) -> None:
    """Both answered 200, so SendGrid does not redeliver them for a day. A message
    id another provider gave out does not match: receipts match on the provider too."""
    sms = await sent_notification(container, owner, provider="twilio", message_id="shared-id")
    events = [
        sendgrid_event("processed", "sg-6"),
        sendgrid_event("deferred", "sg-6"),
        sendgrid_event("group_unsubscribe", "sg-6"),
        sendgrid_event("delivered", "never-sent-by-clarion"),
        sendgrid_event("delivered", "shared-id"),
    ]
    answer = await post_sendgrid(client, events)
    assert answer.status_code == 200, answer.text
    assert answer.json() == counts(unknown=2, ignored=3)
    found, history = await seen(client, owner, sms)
    assert found["receipt"] is None
    assert types(history) == ["CREATED", "SENT"]


def sendgrid_forgery(name: str, good: bytes) -> tuple[bytes, dict[str, str]]:
    """(body posted, headers sent) for a request SendGrid did not sign just now."""
    if name == "tampered body":
        return good.replace(b'"delivered"', b'"click"'), sendgrid_headers(good)
    if name == "wrong key":
        return good, sendgrid_headers(good, key=ec.generate_private_key(ec.SECP256R1()))
    if name == "timestamp changed":
        headers = sendgrid_headers(good)
        stamp = "X-Twilio-Email-Event-Webhook-Timestamp"
        return good, headers | {stamp: str(int(headers[stamp]) + 1)}
    if name == "stale":
        return good, sendgrid_headers(good, age=MAX_AGE + 60)
    if name == "from the future":
        return good, sendgrid_headers(good, age=-(MAX_AGE + 60))
    return good, {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("forgery", "code"),
    [
        ("tampered body", "invalid_signature"),
        ("wrong key", "invalid_signature"),
        ("timestamp changed", "invalid_signature"),
        ("unsigned", "invalid_signature"),
        ("stale", "stale_signature"),
        ("from the future", "stale_signature"),
    ],
)
async def test_a_request_sendgrid_did_not_sign_just_now_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, container: Container, owner: Owner, forgery: str, code: str
) -> None:
    nid = await sent_notification(container, owner, provider="sendgrid", message_id="sg-7")
    before = await seen(client, owner, nid)
    good = json.dumps([sendgrid_event("delivered", "sg-7", nid)]).encode()
    body, headers = sendgrid_forgery(forgery, good)
    answer = await client.post("/webhooks/sendgrid", content=body, headers=headers)
    assert answer.status_code == 403, answer.text
    assert error_shape_problem(answer, code) is None
    assert await seen(client, owner, nid) == before


@pytest.mark.parametrize(
    ("body", "code"),
    [(b"[{not json", "invalid_json"), (b'{"event": "delivered"}', "bad_request")],
    ids=["not JSON", "not an array"],
)
async def test_a_signed_body_that_is_not_an_array_of_events_is_400(
    client: httpx.AsyncClient, body: bytes, code: str
) -> None:
    answer = await client.post("/webhooks/sendgrid", content=body, headers=sendgrid_headers(body))
    assert answer.status_code == 400, answer.text
    assert error_shape_problem(answer, code) is None


# --- Twilio ------------------------------------------------------------------------


def status_form(sid: str, status: str, **extra: str) -> dict[str, str]:
    return {
        "AccountSid": "AC" + "0" * 32,
        "From": "+15005550006",
        "To": "+15558675310",
        "MessageSid": sid,
        "SmsSid": sid,
        "MessageStatus": status,
        "SmsStatus": status,
        "ApiVersion": "2010-04-01",
        **extra,
    }


def twilio_headers(
    form: dict[str, str], *, token: str = AUTH_TOKEN, url: str = CALLBACK_URL
) -> dict[str, str]:
    return {"X-Twilio-Signature": twilio_signature(token, url, form)}


async def post_twilio(
    client: httpx.AsyncClient, form: dict[str, str], headers: dict[str, str] | None = None
) -> httpx.Response:
    signed = twilio_headers(form) if headers is None else headers
    return await client.post("/webhooks/twilio", data=form, headers=signed)


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
