"""Push and SMS notifications end to end: through the API and the in-process
workers to a fake FCM and a fake Twilio served over real HTTP, on both
databases."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from clarion.bootstrap import Container
from clarion.config import Settings
from tests.conftest import make_settings
from tests.support.apps import running, signed_in_admin
from tests.support.fake_server import serve_in_thread
from tests.support.fakes.fcm import FakeFcm, ServiceAccount, unregistered, write_service_account
from tests.support.fakes.twilio import FakeTwilio
from tests.support.notifications import events, posted, settled

PHONE = "device-phone:APA91bFakeRegistrationToken"
TABLET = "device-tablet:APA91bFakeRegistrationToken"
SID = "AC0123456789abcdef0123456789abcdef"
AUTH_TOKEN = "9f2c6e1b7d4a8053c1e2f3a4b5c6d7e8"
TWILIO_FROM = "+15005550006"
NUMBER = "+15551234567"
RETRY_AFTER = 1


def channel_settings(database_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    """Quick retries, and generated secrets kept in the test's own directory."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "data_dir": tmp_path,
        "retry_base_seconds": 0.05,
        "retry_cap_seconds": 0.2,
        "provider_timeout_seconds": 5.0,
    }
    return make_settings(**(values | overrides))


# --- push --------------------------------------------------------------------------


@pytest.fixture
def fcm(tmp_path: Path) -> Iterator[tuple[FakeFcm, str, ServiceAccount]]:
    fake = FakeFcm()
    with serve_in_thread(fake.app) as url:
        account = write_service_account(tmp_path, token_uri=f"{url}/token")
        fake.trust(account)
        yield fake, url, account


def push(user_id: uuid.UUID, title: str) -> dict[str, Any]:
    return {
        "userId": str(user_id),
        "channel": "PUSH",
        "type": "ALERT",
        "payload": {"title": title, "body": "It arrives Friday."},
    }


async def test_a_push_reaches_every_device_and_a_dead_token_is_forgotten(
    database_url: str, tmp_path: Path, fcm: tuple[FakeFcm, str, ServiceAccount]
) -> None:
    fake, url, account = fcm
    settings = channel_settings(
        database_url, tmp_path, fcm_credentials_file=str(account.path), fcm_base_url=url
    )
    async with running(settings, workers=True) as (http, container):
        admin, admin_id = await signed_in_admin(http, container, "push@example.com")
        nowhere = await settled(http, admin, await posted(http, admin, push(admin_id, "Hello?")))
        for token in (PHONE, TABLET):
            device = {"platform": "ANDROID", "token": token}
            added = await http.post(f"/users/{admin_id}/devices", headers=admin, json=device)
            assert added.status_code == 201, added.text
        both = await settled(http, admin, await posted(http, admin, push(admin_id, "Shipped")))
        first_round = fake.received

        fake.answer_next(unregistered())  # for whichever device's request comes first
        survivor = await settled(http, admin, await posted(http, admin, push(admin_id, "Again")))
        second_round = fake.received[len(first_round) :]
        devices = (await http.get(f"/users/{admin_id}/devices", headers=admin)).json()

    print(f"no device: {nowhere['status']} ({nowhere['errorMessage']})")
    assert nowhere["status"] == "FAILED"
    assert "no registered device" in nowhere["errorMessage"]

    tokens = [r.body["message"]["token"] for r in first_round]
    print(f"two devices: {both['status']}, FCM got {tokens}")
    assert (both["status"], both["provider"]) == ("SENT", "fcm")
    assert sorted(tokens) == sorted([PHONE, TABLET])
    assert {r.body["message"]["notification"]["title"] for r in first_round} == {"Shipped"}
    assert both["providerMessageId"] in fake.names

    dead, alive = (r.body["message"]["token"] for r in second_round)
    left = [d["token"] for d in devices]
    print(f"UNREGISTERED for {dead}: {survivor['status']}, devices left {left}")
    assert survivor["status"] == "SENT"  # the other device took it
    assert left == [alive]


# --- SMS ---------------------------------------------------------------------------


class Stamped:
    """Wraps an ASGI app and notes when each HTTP request reaches it."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.times: list[float] = []
        self._lock = threading.Lock()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            with self._lock:
                self.times.append(time.monotonic())
        await self.app(scope, receive, send)


@pytest.fixture
def twilio() -> Iterator[tuple[FakeTwilio, Stamped, str]]:
    fake = FakeTwilio(account_sid=SID, auth_token=AUTH_TOKEN)
    stamped = Stamped(fake.app)
    with serve_in_thread(stamped) as url:
        yield fake, stamped, url


def twilio_settings(database_url: str, tmp_path: Path, url: str) -> Settings:
    return channel_settings(
        database_url,
        tmp_path,
        twilio_account_sid=SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_from=TWILIO_FROM,
        twilio_base_url=url,
    )


def sms(user_id: uuid.UUID, body: str) -> dict[str, Any]:
    return {"userId": str(user_id), "channel": "SMS", "type": "ALERT", "payload": {"body": body}}


async def with_phone(
    http: httpx.AsyncClient, container: Container
) -> tuple[dict[str, str], uuid.UUID]:
    """An admin whose account has the test number as its phone."""
    admin, admin_id = await signed_in_admin(http, container, "sms@example.com")
    phone = await http.patch(f"/users/{admin_id}", headers=admin, json={"phone": NUMBER})
    assert phone.status_code == 200, phone.text
    return admin, admin_id


async def test_an_sms_goes_to_the_users_phone_and_stop_suppresses_the_number(
    database_url: str, tmp_path: Path, twilio: tuple[FakeTwilio, Stamped, str]
) -> None:
    fake, stamped, url = twilio
    async with running(twilio_settings(database_url, tmp_path, url), workers=True) as (
        http,
        container,
    ):
        admin, admin_id = await with_phone(http, container)
        sent = await settled(http, admin, await posted(http, admin, sms(admin_id, "Code 1")))

        fake.fail_with(21610, times=1)
        stopped = await settled(http, admin, await posted(http, admin, sms(admin_id, "Code 2")))
        requests_before = len(stamped.times)
        started = time.monotonic()
        nid = await posted(http, admin, sms(admin_id, "Code 3"))
        suppressed = await settled(http, admin, nid)
        suppressed_seconds = time.monotonic() - started
        suppressed_events = await events(http, admin, nid)

    [received] = fake.received
    print(f"sent: To={received.form['To']} sid={received.sid} -> {sent['providerMessageId']}")
    assert received.form["To"] == NUMBER
    assert received.form["Body"] == "Code 1"
    assert (sent["status"], sent["provider"]) == ("SENT", "twilio")
    assert sent["providerMessageId"] == received.sid

    print(f"21610: {stopped['status']} ({stopped['errorMessage']})")
    assert stopped["status"] == "FAILED"
    assert stopped["errorMessage"] == "twilio: 21610 unsubscribed recipient"

    print(
        f"after STOP: {suppressed['status']} ({suppressed['errorMessage']}) "
        f"in {suppressed_seconds:.2f}s, "
        f"requests at Twilio {requests_before} -> {len(stamped.times)}"
    )
    # not sent on purpose: neither a failure nor a dead letter
    assert suppressed["status"] == "NOT_SENT"
    assert "STOP" in suppressed["errorMessage"]
    assert suppressed["attempts"] == 1
    assert [e["type"] for e in suppressed_events] == ["CREATED", "NOT_SENT"]
    assert suppressed_events[1]["metadata"]["rule"] == "suppressed"
    assert len(stamped.times) == requests_before  # Twilio never heard of Code 3


async def test_a_rate_limited_sms_is_retried_no_sooner_than_twilio_asks(
    database_url: str, tmp_path: Path, twilio: tuple[FakeTwilio, Stamped, str]
) -> None:
    fake, stamped, url = twilio
    fake.rate_limit(retry_after=RETRY_AFTER, times=1)
    async with running(twilio_settings(database_url, tmp_path, url), workers=True) as (
        http,
        container,
    ):
        admin, admin_id = await with_phone(http, container)
        nid = await posted(http, admin, sms(admin_id, "Your code is 482913"))
        sent = await settled(http, admin, nid)
        history = await events(http, admin, nid)

    limited_at, accepted_at = stamped.times
    retried = next(e for e in history if e["type"] == "RETRIED")["metadata"]
    print(
        f"429 Retry-After {RETRY_AFTER}: RETRIED {retried}, next request "
        f"{accepted_at - limited_at:.3f}s later, then {sent['status']}"
    )
    assert [e["type"] for e in history] == ["CREATED", "RETRIED", "SENT"]
    assert retried["retryAfter"] >= RETRY_AFTER
    assert retried["delaySeconds"] >= RETRY_AFTER
    assert accepted_at - limited_at >= RETRY_AFTER
    assert (sent["status"], sent["provider"], sent["attempts"]) == ("SENT", "twilio", 2)
    assert sent["providerMessageId"] == fake.received[0].sid
