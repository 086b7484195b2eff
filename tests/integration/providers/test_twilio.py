"""The Twilio provider against a fake Twilio on a real port, and the
X-Twilio-Signature check status callbacks rely on."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clarion.adapters.providers.twilio import TwilioProvider
from clarion.adapters.providers.twilio_signature import (
    twilio_signature,
    valid_twilio_signature,
)
from clarion.domain.delivery import Outcome, OutgoingMessage, SendResult
from clarion.domain.enums import Channel
from tests.support.fake_server import serve_in_thread
from tests.support.fakes.twilio import FakeTwilio, send_status_callback
from tests.support.outgoing import outgoing
from tests.support.processes import free_port

SID = "AC0123456789abcdef0123456789abcdef"
TOKEN = "9f2c6e1b7d4a8053c1e2f3a4b5c6d7e8"
SENDER = "+15005550006"
RECIPIENT = "+15551234567"
CALLBACK = "https://clarion.example.com/webhooks/twilio"
BODY = "Your code is 482913"


def sms(body: str = BODY, recipient: str = RECIPIENT) -> OutgoingMessage:
    return outgoing(Channel.SMS, recipient, {"body": body})


@pytest.fixture(scope="module")
def twilio_server() -> Iterator[tuple[FakeTwilio, str]]:
    fake = FakeTwilio(account_sid=SID, auth_token=TOKEN)
    with serve_in_thread(fake.app) as url:
        yield fake, url


@pytest.fixture
def fake(twilio_server: tuple[FakeTwilio, str]) -> FakeTwilio:
    twilio_server[0].reset()
    return twilio_server[0]


@pytest.fixture
def twilio_url(twilio_server: tuple[FakeTwilio, str]) -> str:
    return twilio_server[1]


@pytest.fixture
async def provider(fake: FakeTwilio, twilio_url: str) -> AsyncIterator[TwilioProvider]:
    async with twilio_at(twilio_url, status_callback=CALLBACK, timeout=5) as twilio:
        yield twilio


@asynccontextmanager
async def twilio_at(base_url: str, **overrides: Any) -> AsyncIterator[TwilioProvider]:
    settings: dict[str, Any] = {"account_sid": SID, "auth_token": TOKEN, "sender": SENDER}
    twilio = TwilioProvider(base_url=base_url, **(settings | overrides))
    try:
        yield twilio
    finally:
        await twilio.close()


def assert_no_secrets(result: SendResult) -> None:
    assert TOKEN not in (result.error or "")
    assert BODY not in (result.error or "")


# --- sending ----------------------------------------------------------------------


async def test_a_message_is_posted_as_twilio_expects_and_its_sid_kept(
    provider: TwilioProvider, fake: FakeTwilio
) -> None:
    result = await provider.send(sms())

    [received] = fake.received
    assert received.path == f"/2010-04-01/Accounts/{SID}/Messages.json"
    credentials = base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert received.headers["authorization"] == f"Basic {credentials}"
    assert received.headers["content-type"] == "application/x-www-form-urlencoded"
    assert received.form == {
        "To": RECIPIENT,
        "From": SENDER,
        "Body": BODY,
        "StatusCallback": CALLBACK,
    }
    assert result == SendResult.sent("twilio", received.sid)
    assert re.fullmatch(r"SM[0-9a-f]{32}", result.provider_message_id or "")


async def test_without_a_status_callback_none_is_asked_for(
    fake: FakeTwilio, twilio_url: str
) -> None:
    async with twilio_at(twilio_url) as twilio:
        result = await twilio.send(sms())

    assert result.outcome is Outcome.SENT
    [received] = fake.received
    assert "StatusCallback" not in received.form


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (21211, "invalid To number"),
        (21612, "unroutable To number"),
        (21614, "not a mobile number"),
        (21635, "landline number"),
        (21608, "unverified number on a trial account"),
        (21606, "rejected (HTTP 400)"),  # a code the provider has no name for
    ],
)
async def test_rejected_messages_fail_for_good_without_blaming_twilio(
    provider: TwilioProvider, fake: FakeTwilio, code: int, reason: str
) -> None:
    fake.fail_with(code, times=1)

    result = await provider.send(sms())

    assert result.outcome is Outcome.PERMANENT
    assert result.error == f"twilio: {code} {reason}"
    assert not result.provider_fault
    assert not result.forget_recipient
    assert_no_secrets(result)


async def test_an_unsubscribed_recipient_is_forgotten(
    provider: TwilioProvider, fake: FakeTwilio
) -> None:
    fake.fail_with(21610, times=1)

    result = await provider.send(sms())

    assert result.outcome is Outcome.PERMANENT
    assert result.error == "twilio: 21610 unsubscribed recipient"
    assert result.forget_recipient
    assert not result.provider_fault


async def test_a_number_twilio_cannot_parse_fails_for_good(provider: TwilioProvider) -> None:
    result = await provider.send(sms(recipient="555-CALL-NOW"))

    assert result.outcome is Outcome.PERMANENT
    assert result.error == "twilio: 21211 invalid To number"
    assert not result.provider_fault
    assert not result.forget_recipient


async def test_an_empty_body_fails_for_good(provider: TwilioProvider, fake: FakeTwilio) -> None:
    result = await provider.send(sms(body=""))

    assert result.outcome is Outcome.PERMANENT
    assert result.error == "twilio: 21602 empty body"
    assert fake.received == []


async def test_rate_limiting_is_retried_no_sooner_than_twilio_asks(
    provider: TwilioProvider, fake: FakeTwilio
) -> None:
    fake.rate_limit(retry_after=7, times=1)

    limited = await provider.send(sms())
    after = await provider.send(sms())

    assert limited.outcome is Outcome.RETRY
    assert limited.retry_after is not None
    assert limited.retry_after >= 7
    assert limited.error == "twilio: 20429 rate limited"
    assert not limited.provider_fault
    assert after.outcome is Outcome.SENT


async def test_rate_limiting_without_retry_after_leaves_the_wait_to_backoff(
    provider: TwilioProvider, fake: FakeTwilio
) -> None:
    fake.rate_limit()

    result = await provider.send(sms())

    assert result.outcome is Outcome.RETRY
    assert result.retry_after is None
    assert not result.provider_fault


async def test_code_20429_is_retried_whatever_the_status(
    provider: TwilioProvider, fake: FakeTwilio
) -> None:
    fake.fail_with(20429, status=400)

    result = await provider.send(sms())

    assert result.outcome is Outcome.RETRY
    assert not result.provider_fault


async def test_wrong_credentials_fail_for_good_and_blame_twilio(
    fake: FakeTwilio, twilio_url: str
) -> None:
    wrong_token = "0" * 32
    async with twilio_at(twilio_url, auth_token=wrong_token) as twilio:
        result = await twilio.send(sms())

    assert result.outcome is Outcome.PERMANENT
    assert result.error == "twilio: 20003 authentication failed"
    assert result.provider_fault
    assert not result.forget_recipient
    assert wrong_token not in (result.error or "")
    assert fake.received == []


async def test_a_forbidden_account_blames_twilio(
    provider: TwilioProvider, fake: FakeTwilio
) -> None:
    fake.fail_with(20403, status=403, times=1)

    result = await provider.send(sms())

    assert result.outcome is Outcome.PERMANENT
    assert result.provider_fault


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors_are_retried_and_blame_twilio(
    provider: TwilioProvider, fake: FakeTwilio, status: int
) -> None:
    fake.server_errors(status=status)

    result = await provider.send(sms())

    assert result.outcome is Outcome.RETRY
    assert result.error == f"twilio: HTTP {status}"
    assert result.provider_fault
    assert fake.received == []


async def test_a_storm_of_server_errors_ends_after_the_requests_it_was_given(
    provider: TwilioProvider, fake: FakeTwilio
) -> None:
    fake.server_errors(times=2)

    outcomes = [(await provider.send(sms())).outcome for _ in range(3)]

    assert outcomes == [Outcome.RETRY, Outcome.RETRY, Outcome.SENT]
    assert len(fake.received) == 1


async def test_a_slow_twilio_is_given_up_on_at_the_timeout(
    fake: FakeTwilio, twilio_url: str
) -> None:
    fake.delay(2, times=1)
    async with twilio_at(twilio_url, timeout=0.5) as twilio:
        result = await twilio.send(sms())

    # the fake answers 201 once its delay is over: only the timeout gives this
    assert result.outcome is Outcome.RETRY
    assert result.error == "twilio: timed out"
    assert result.provider_fault


async def test_an_unreachable_twilio_is_retried_and_blamed() -> None:
    nobody_listening = f"http://127.0.0.1:{free_port()}"
    async with twilio_at(nobody_listening, timeout=2) as twilio:
        result = await twilio.send(sms())

    assert result.outcome is Outcome.RETRY
    assert result.error == "twilio: ConnectError"
    assert result.provider_fault


# --- X-Twilio-Signature -----------------------------------------------------------

CALLBACK_URL = "https://clarion.example.com/webhooks/twilio?tenant=7"
CALLBACK_PARAMS = {
    "MessageStatus": "undelivered",
    "To": RECIPIENT,
    "MessageSid": "SM00000000000000000000000000000001",
    "ErrorCode": "30003",
    "AccountSid": SID,
}


def test_the_signature_is_hmac_sha1_of_the_url_and_sorted_params() -> None:
    signed_text = (
        CALLBACK_URL
        + "AccountSid"
        + SID
        + "ErrorCode"
        + "30003"
        + "MessageSid"
        + "SM00000000000000000000000000000001"
        + "MessageStatus"
        + "undelivered"
        + "To"
        + RECIPIENT
    )
    mac = hmac.new(TOKEN.encode("utf-8"), signed_text.encode("utf-8"), hashlib.sha1)
    expected = base64.b64encode(mac.digest()).decode("ascii")

    assert twilio_signature(TOKEN, CALLBACK_URL, CALLBACK_PARAMS) == expected
    # the same value from `openssl dgst -sha1 -hmac TOKEN -binary | base64`
    assert expected == "08HakTYJZPtlpovqV+SFMOSIBfc="


def test_a_genuine_signature_is_accepted() -> None:
    signature = twilio_signature(TOKEN, CALLBACK_URL, CALLBACK_PARAMS)

    assert valid_twilio_signature(TOKEN, CALLBACK_URL, CALLBACK_PARAMS, signature)


@pytest.mark.parametrize(
    ("token", "url", "params", "signature"),
    [
        pytest.param(
            TOKEN,
            CALLBACK_URL,
            {**CALLBACK_PARAMS, "MessageStatus": "delivered"},
            None,
            id="tampered-param",
        ),
        pytest.param(
            TOKEN, CALLBACK_URL, {**CALLBACK_PARAMS, "Extra": "1"}, None, id="added-param"
        ),
        pytest.param(
            TOKEN,
            "https://clarion.example.com/webhooks/twilio?tenant=8",
            CALLBACK_PARAMS,
            None,
            id="other-url",
        ),
        pytest.param("1" * 32, CALLBACK_URL, CALLBACK_PARAMS, None, id="wrong-token"),
        pytest.param(TOKEN, CALLBACK_URL, CALLBACK_PARAMS, "", id="empty-signature"),
        pytest.param(TOKEN, CALLBACK_URL, CALLBACK_PARAMS, "ünïcode", id="non-ascii-signature"),
    ],
)
def test_a_forged_or_altered_callback_is_rejected(
    token: str, url: str, params: dict[str, str], signature: str | None
) -> None:
    genuine = twilio_signature(TOKEN, CALLBACK_URL, CALLBACK_PARAMS)

    assert not valid_twilio_signature(
        token, url, params, genuine if signature is None else signature
    )


async def test_a_status_callback_from_the_fake_verifies_where_it_lands(
    fake: FakeTwilio, twilio_url: str
) -> None:
    landed: list[tuple[bool, dict[str, str]]] = []

    async def receive(request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        signature = request.headers.get("x-twilio-signature", "")
        valid = valid_twilio_signature(TOKEN, str(request.url), form, signature)
        landed.append((valid, form))
        return Response(status_code=204 if valid else 403)

    receiver = Starlette(routes=[Route("/webhooks/twilio", receive, methods=["POST"])])
    with serve_in_thread(receiver) as receiver_url:
        callback = f"{receiver_url}/webhooks/twilio?tenant=7"
        async with twilio_at(twilio_url, status_callback=callback) as twilio:
            result = await twilio.send(sms())
        [message] = fake.received
        genuine = await fake.send_status(message, "undelivered", error_code=30003)
        forged = await send_status_callback(
            callback, "1" * 32, {"MessageSid": message.sid, "MessageStatus": "delivered"}
        )

    assert genuine.status_code == 204
    assert forged.status_code == 403
    assert landed[0][1]["MessageSid"] == result.provider_message_id
    assert landed[0][1]["MessageStatus"] == "undelivered"
    assert landed[0][1]["ErrorCode"] == "30003"
