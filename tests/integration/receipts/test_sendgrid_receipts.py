"""SendGrid receipts through POST /webhooks/sendgrid, signed with a real P-256 key.

SendGrid's key pair is a real P-256 key made here (tests/support/receipts.py); its
public half is configured as SendGrid shows it (base64 DER). What a user sees is
read back through the API: the notification and its events.
"""

from __future__ import annotations

import json

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from clarion.bootstrap import Container
from tests.support.identity import error_shape_problem
from tests.support.receipts import (
    MAX_AGE,
    Owner,
    counts,
    post_sendgrid,
    seen,
    sendgrid_event,
    sendgrid_headers,
    sent_notification,
    types,
)


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
        # a Clarion login is no signature: the configured webhook still refuses it
        ("unsigned with the user's bearer token", "invalid_signature"),
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
    if "bearer" in forgery:
        headers |= owner.headers
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
