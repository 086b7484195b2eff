"""Email and webhook notifications end to end: through the API, the in-process
workers and real servers (a fake SendGrid, aiosmtpd, a webhook receiver), on
both databases."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clarion.config import Settings
from tests.conftest import make_settings
from tests.support.apps import running, signed_in_admin
from tests.support.fake_server import serve_in_thread
from tests.support.fakes.sendgrid import FakeSendGrid
from tests.support.mail import Mailbox, smtp_server
from tests.support.notifications import all_settled, in_app, posted, settled

API_KEY = "SG.test-key-0123456789"
SENDER = "Clarion <no-reply@example.com>"
FAILURES = 3
COOLDOWN = 1.0
WEBHOOK_SECRET = "whsec-test-0123456789abcdef0123456789"


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    with smtp_server(box):
        yield box


@pytest.fixture
def sendgrid() -> Iterator[tuple[FakeSendGrid, str]]:
    fake = FakeSendGrid(API_KEY)
    with serve_in_thread(fake.app) as url:
        yield fake, url


def channel_settings(database_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    """Quick retries, and generated secrets kept in the test's own directory."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "data_dir": tmp_path,
        "email_from": SENDER,
        "retry_base_seconds": 0.05,
        "retry_cap_seconds": 0.2,
        "provider_timeout_seconds": 5.0,
    }
    return make_settings(**(values | overrides))


def email(user_id: uuid.UUID, subject: str, body: str = "Amount due: 12 EUR") -> dict[str, Any]:
    return {
        "userId": str(user_id),
        "channel": "EMAIL",
        "type": "TRANSACTIONAL",
        "payload": {"subject": subject, "body": body},
    }


# --- email -------------------------------------------------------------------------


async def test_a_sendgrid_outage_opens_its_circuit_and_smtp_carries_the_mail(
    database_url: str,
    tmp_path: Path,
    mailbox: Mailbox,
    sendgrid: tuple[FakeSendGrid, str],
) -> None:
    fake, url = sendgrid
    settings = channel_settings(
        database_url,
        tmp_path,
        sendgrid_api_key=API_KEY,
        sendgrid_base_url=url,
        smtp_host="127.0.0.1",
        smtp_port=mailbox.port,
        smtp_starttls=True,  # aiosmtpd offers no STARTTLS: the connection stays plain
        breaker_failures=FAILURES,
        breaker_cooldown_seconds=COOLDOWN,
    )
    fake.answer(503, times=None)
    async with running(settings, workers=True) as (http, container):
        admin, admin_id = await signed_in_admin(http, container, "ops@example.com")
        storm_started = time.monotonic()
        # one at a time: a closed circuit lets concurrent sends through together
        opening = []
        for i in range(FAILURES):
            opening.append(
                await settled(http, admin, await posted(http, admin, email(admin_id, f"Storm {i}")))
            )
        # the circuit is open now: these go straight to SMTP
        open_ids = [
            await posted(http, admin, email(admin_id, f"Storm {i}")) for i in range(FAILURES, 8)
        ]
        during_open = await all_settled(http, admin, open_ids)
        storm_seconds = time.monotonic() - storm_started
        sendgrid_hits = fake.received

        fake.behave()
        await asyncio.sleep(COOLDOWN + 0.2)  # past the cooldown: the next send probes SendGrid
        # alone: while the probe is out, a half-open circuit sends the rest to SMTP
        probe = await settled(http, admin, await posted(http, admin, email(admin_id, "Calm 0")))
        calm_ids = [await posted(http, admin, email(admin_id, f"Calm {i}")) for i in range(1, 5)]
        calm = [probe, *await all_settled(http, admin, calm_ids)]

    # a probe may have gone out each time the cooldown ran out during the storm
    probes = int(storm_seconds // COOLDOWN)
    print(
        f"storm: 8 emails in {storm_seconds:.2f}s, SendGrid saw {sendgrid_hits} requests "
        f"(breaker opens after {FAILURES}, up to {probes} probes), SMTP got {len(mailbox.messages)}"
    )
    storm = [*opening, *during_open]
    assert [(n["status"], n["provider"]) for n in storm] == [("SENT", "smtp")] * 8
    assert sorted(mailbox.subjects[:8]) == sorted(f"Storm {i}" for i in range(8))
    assert sendgrid_hits <= FAILURES + probes
    assert sendgrid_hits < len(storm)
    first = mailbox.messages[0]
    assert mailbox.recipients[0] == ["ops@example.com"]
    assert first["From"] == SENDER
    assert first.get_content().strip() == "Amount due: 12 EUR"

    print(f"recovered: {[n['provider'] for n in calm]}, SMTP total {len(mailbox.messages)}")
    assert [(n["status"], n["provider"]) for n in calm] == [("SENT", "sendgrid")] * 5
    accepted = fake.accepted
    assert sorted(a.body["subject"] for a in accepted) == sorted(f"Calm {i}" for i in range(5))
    assert {n["providerMessageId"] for n in calm} == {a.message_id for a in accepted}
    assert len(mailbox.messages) == 8  # none of the calm emails went to SMTP


async def test_an_email_through_smtp_arrives_with_its_subject_and_body(
    database_url: str, tmp_path: Path, mailbox: Mailbox
) -> None:
    settings = channel_settings(
        database_url, tmp_path, smtp_host="127.0.0.1", smtp_port=mailbox.port
    )
    async with running(settings, workers=True) as (http, container):
        admin, admin_id = await signed_in_admin(http, container, "ada@example.com")
        body = email(admin_id, "Your invoice", "Amount due: 12 EUR\nThank you.")
        sent = await settled(http, admin, await posted(http, admin, body))

    print(f"status {sent['status']} via {sent['provider']}, {len(mailbox.messages)} at aiosmtpd")
    assert (sent["status"], sent["provider"]) == ("SENT", "smtp")
    [message] = mailbox.messages
    assert mailbox.recipients == [["ada@example.com"]]
    assert message["Subject"] == "Your invoice"
    assert message["To"] == "ada@example.com"
    assert message.get_content().splitlines() == ["Amount due: 12 EUR", "Thank you."]
    assert message["Message-ID"] == sent["providerMessageId"]


# --- webhook -----------------------------------------------------------------------


class Receiver:
    """A webhook receiver that keeps each request's headers and raw body."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.app = Starlette(routes=[Route("/hook", self._hook, methods=["POST"])])

    async def _hook(self, request: Request) -> Response:
        self.requests.append((dict(request.headers), await request.body()))
        return Response(status_code=204, headers={"X-Request-Id": "receipt-7"})


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    hook = Receiver()
    with serve_in_thread(hook.app) as url:
        yield hook, f"{url}/hook"


def signature_valid(secret: bytes, header: str, body: bytes) -> bool:
    """What a receiver does with `X-Clarion-Signature: t=..,v1=..`."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    expected = hmac.new(secret, f"{fields['t']}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["v1"])


def webhook(user_id: uuid.UUID, url: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "userId": str(user_id),
        "channel": "WEBHOOK",
        "type": "ALERT",
        "payload": {"url": url, "data": data},
    }


async def test_a_webhook_to_a_loopback_address_is_refused_by_default(
    database_url: str, tmp_path: Path, receiver: tuple[Receiver, str]
) -> None:
    hook, url = receiver
    settings = channel_settings(database_url, tmp_path)
    async with running(settings, workers=True) as (http, container):
        admin, admin_id = await signed_in_admin(http, container, "hooks@example.com")
        single = await http.post(
            "/notifications", headers=admin, json=webhook(admin_id, url, {"order": 1})
        )
        items = [in_app(admin_id), webhook(admin_id, url, {"order": 2}), in_app(admin_id)]
        batch = await http.post(
            "/notifications/batch", headers=admin, json={"notifications": items}
        )
        results = batch.json()["results"]
        created = [r["notification"]["id"] for r in results if r["status"] == 201]
        others = await all_settled(http, admin, created)

    print(f"single: {single.status_code} {single.json()['details']}")
    print(f"batch: {[r['status'] for r in results]}, receiver got {len(hook.requests)}")
    assert single.status_code == 422
    assert [d["field"] for d in single.json()["details"]] == ["payload.url"]
    assert batch.status_code == 200
    assert (batch.json()["created"], batch.json()["failed"]) == (2, 1)
    assert [r["status"] for r in results] == [201, 422, 201]
    assert [d["field"] for d in results[1]["error"]["details"]] == ["payload.url"]
    assert [n["status"] for n in others] == ["SENT", "SENT"]
    assert hook.requests == []


async def test_an_allowed_webhook_arrives_signed_with_the_configured_secret(
    database_url: str, tmp_path: Path, receiver: tuple[Receiver, str]
) -> None:
    hook, url = receiver
    settings = channel_settings(
        database_url,
        tmp_path,
        webhook_allowed_hosts="127.0.0.1",
        webhook_secret=WEBHOOK_SECRET,
    )
    data = {"order": 42, "state": "shipped", "items": ["book", "pen"]}
    async with running(settings, workers=True) as (http, container):
        admin, admin_id = await signed_in_admin(http, container, "hooks@example.com")
        nid = await posted(http, admin, webhook(admin_id, url, data))
        sent = await settled(http, admin, nid)

    [(headers, body)] = hook.requests
    signature = headers["x-clarion-signature"]
    print(f"status {sent['status']}, signature {signature}, body {body.decode()}")
    assert (sent["status"], sent["provider"]) == ("SENT", "webhook")
    assert sent["providerMessageId"] == "receipt-7"
    payload = json.loads(body)
    assert payload["id"] == nid
    assert payload["userId"] == str(admin_id)
    assert payload["data"] == data
    assert headers["content-type"] == "application/json"
    assert headers["x-clarion-notification-id"] == nid
    timestamp = int(dict(p.split("=", 1) for p in signature.split(","))["t"])
    assert abs(time.time() - timestamp) < 60
    secret = WEBHOOK_SECRET.encode()
    assert signature_valid(secret, signature, body)
    tampered = body.replace(b'"order":42', b'"order":43')
    assert tampered != body
    assert not signature_valid(secret, signature, tampered)
    assert not signature_valid(b"another-secret", signature, body)
