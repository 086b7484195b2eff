"""Receipt-test support: a real P-256 key for SendGrid's signatures, Twilio's
signing over the configured callback URL, and notifications already SENT by a
provider, read back through the API."""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
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


@dataclass(frozen=True)
class Owner:
    id: uuid.UUID
    headers: dict[str, str]


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
