"""The SendGrid provider against a fake SendGrid over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from clarion.adapters.providers.sendgrid import SendGridProvider
from clarion.domain.delivery import Outcome
from clarion.domain.enums import Channel
from tests.support.fake_server import serve_in_thread
from tests.support.fakes.sendgrid import FakeSendGrid, errors_body
from tests.support.outgoing import email, outgoing
from tests.support.processes import free_port

API_KEY = "SG.test-key-0123456789"
SENDER = "Clarion <no-reply@example.com>"
NOW = 1_700_000_000.0


@pytest.fixture
def fake() -> FakeSendGrid:
    return FakeSendGrid(API_KEY)


@pytest.fixture
def base_url(fake: FakeSendGrid) -> Iterator[str]:
    with serve_in_thread(fake.app) as url:
        yield url


async def open_provider(base_url: str, **overrides: Any) -> SendGridProvider:
    options: dict[str, Any] = {
        "api_key": API_KEY,
        "base_url": base_url,
        "sender": SENDER,
        "clock": lambda: NOW,
    }
    options.update(overrides)
    return SendGridProvider(**options)


@pytest.fixture
async def provider(base_url: str) -> AsyncIterator[SendGridProvider]:
    sendgrid = await open_provider(base_url)
    yield sendgrid
    await sendgrid.close()


async def test_a_sent_email_is_the_request_sendgrid_expects(
    provider: SendGridProvider, fake: FakeSendGrid
) -> None:
    message = email()

    result = await provider.send(message)

    [request] = fake.accepted
    assert result.outcome is Outcome.SENT
    assert result.provider == "sendgrid"
    assert result.provider_message_id == request.message_id
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.body == {
        "personalizations": [{"to": [{"email": "ada@example.com"}]}],
        "from": {"email": "no-reply@example.com", "name": "Clarion"},
        "subject": "Your invoice",
        "content": [{"type": "text/plain", "value": "Amount due: 12 EUR"}],
        "custom_args": {"notification_id": str(message.notification_id)},
    }


async def test_unsubscribe_headers_go_in_the_mails_headers(
    provider: SendGridProvider, fake: FakeSendGrid
) -> None:
    headers = (
        ("List-Unsubscribe", "<https://notify.example.com/unsubscribe/abc>"),
        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
    )
    content = {"subject": "Sale", "body": "50% off", "headers": headers}
    result = await provider.send(outgoing(Channel.EMAIL, "ada@example.com", content))

    assert result.outcome is Outcome.SENT
    assert fake.accepted[0].body["headers"] == {
        "List-Unsubscribe": "<https://notify.example.com/unsubscribe/abc>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


async def test_html_follows_the_plain_text(provider: SendGridProvider, fake: FakeSendGrid) -> None:
    result = await provider.send(email(html="<p>Amount due: <b>12 EUR</b></p>"))

    assert result.outcome is Outcome.SENT
    assert fake.accepted[0].body["content"] == [
        {"type": "text/plain", "value": "Amount due: 12 EUR"},
        {"type": "text/html", "value": "<p>Amount due: <b>12 EUR</b></p>"},
    ]


async def test_a_bare_sender_address_has_no_name(base_url: str, fake: FakeSendGrid) -> None:
    sendgrid = await open_provider(base_url, sender="alerts@example.com")
    try:
        result = await sendgrid.send(email())
    finally:
        await sendgrid.close()

    assert result.outcome is Outcome.SENT
    assert fake.accepted[0].body["from"] == {"email": "alerts@example.com"}


async def test_an_invalid_recipient_fails_for_good_without_blaming_sendgrid(
    provider: SendGridProvider, fake: FakeSendGrid
) -> None:
    result = await provider.send(email(recipient="not-an-address"))

    assert result.outcome is Outcome.PERMANENT
    assert result.error == "sendgrid: 400 Does not contain a valid address."
    assert not result.provider_fault
    assert fake.accepted == []


async def test_a_rejected_payload_names_every_error_but_not_the_content(
    provider: SendGridProvider, fake: FakeSendGrid
) -> None:
    body = {
        "errors": [
            {"message": "invalid from address", "field": "from.email", "help": None},
            {"message": "invalid reply_to", "field": "reply_to", "help": None},
        ]
    }
    fake.answer(400, body)

    result = await provider.send(email())

    assert result.outcome is Outcome.PERMANENT
    assert result.error == "sendgrid: 400 invalid from address; invalid reply_to"
    assert not result.provider_fault


async def test_a_wrong_api_key_fails_for_good_and_blames_sendgrid(base_url: str) -> None:
    sendgrid = await open_provider(base_url, api_key="SG.revoked-key")
    try:
        result = await sendgrid.send(email())
    finally:
        await sendgrid.close()

    assert result.outcome is Outcome.PERMANENT
    assert result.provider_fault
    assert result.error is not None
    assert result.error.startswith("sendgrid: 401 ")
    assert "SG.revoked-key" not in result.error


@pytest.mark.parametrize(
    ("status", "outcome", "provider_fault"),
    [
        (400, Outcome.PERMANENT, False),
        (401, Outcome.PERMANENT, True),
        (403, Outcome.PERMANENT, True),
        (413, Outcome.PERMANENT, False),
        (500, Outcome.RETRY, True),
        (502, Outcome.RETRY, True),
        (503, Outcome.RETRY, True),
        (504, Outcome.RETRY, True),
        (404, Outcome.RETRY, True),
    ],
)
async def test_each_error_status_maps_to_its_outcome(
    provider: SendGridProvider,
    fake: FakeSendGrid,
    status: int,
    outcome: Outcome,
    provider_fault: bool,
) -> None:
    fake.answer(status)

    result = await provider.send(email())

    assert result.outcome is outcome
    assert result.provider_fault is provider_fault
    assert result.error is not None
    assert result.error.startswith(f"sendgrid: {status} ")
    assert "Amount due" not in result.error
    assert fake.accepted == []


async def test_a_rate_limit_waits_for_the_announced_reset(
    provider: SendGridProvider, fake: FakeSendGrid
) -> None:
    reset = int(NOW) + 42
    fake.rate_limit(reset=reset)

    limited = await provider.send(email())
    after_reset = await provider.send(email())

    assert limited.outcome is Outcome.RETRY
    assert limited.retry_after == 42.0
    assert NOW + limited.retry_after >= reset
    assert not limited.provider_fault
    assert after_reset.outcome is Outcome.SENT
    assert len(fake.accepted) == 1


async def test_a_reset_already_past_retries_at_once(
    provider: SendGridProvider, fake: FakeSendGrid
) -> None:
    fake.rate_limit(reset=int(NOW) - 5)

    result = await provider.send(email())

    assert result.outcome is Outcome.RETRY
    assert result.retry_after == 0.0


async def test_an_outage_is_retried_after_its_retry_after_until_it_ends(
    provider: SendGridProvider, fake: FakeSendGrid
) -> None:
    fake.answer(503, errors_body("Service Unavailable"), headers={"Retry-After": "17"}, times=None)

    during = [await provider.send(email()) for _ in range(3)]
    fake.behave()
    after = await provider.send(email())

    assert [(r.outcome, r.retry_after, r.provider_fault) for r in during] == [
        (Outcome.RETRY, 17.0, True)
    ] * 3
    assert after.outcome is Outcome.SENT
    assert fake.received == 4


async def test_a_timeout_is_retried_and_blames_sendgrid(base_url: str, fake: FakeSendGrid) -> None:
    fake.stall(2.0)
    sendgrid = await open_provider(base_url, timeout=0.5)
    try:
        result = await sendgrid.send(email())
    finally:
        await sendgrid.close()

    # the stalled fake answers 202 in the end: only the timeout gives this
    assert result.outcome is Outcome.RETRY
    assert result.provider_fault
    assert result.error == "sendgrid: timed out"


async def test_an_unreachable_sendgrid_is_retried_and_blamed() -> None:
    sendgrid = await open_provider(f"http://127.0.0.1:{free_port()}")
    try:
        result = await sendgrid.send(email())
    finally:
        await sendgrid.close()

    assert result.outcome is Outcome.RETRY
    assert result.provider_fault
    assert result.error == "sendgrid: ConnectError"
