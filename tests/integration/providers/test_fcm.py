"""The FCM provider against a fake FCM served over real HTTP: the request it
sends, the access token it fetches and reuses, and how each of FCM's answers
becomes sent, retry later or failed for good."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from clarion.adapters.providers.fcm import FcmProvider
from clarion.domain.delivery import Outcome, OutgoingMessage, SendResult
from clarion.domain.enums import Channel
from tests.support.fake_server import serve_in_thread
from tests.support.fakes.fcm import (
    SCOPE,
    TOKEN_AUDIENCE,
    Answer,
    FakeFcm,
    ServiceAccount,
    internal,
    invalid_payload,
    invalid_token,
    invalid_token_field,
    quota_exceeded,
    sender_id_mismatch,
    slow,
    third_party_auth_error,
    unavailable,
    unregistered,
    write_service_account,
)
from tests.support.outgoing import outgoing
from tests.support.processes import free_port

DEVICE = "device-token-aBc123:APA91bFakeRegistrationToken"


@dataclass
class Fcm:
    fake: FakeFcm
    url: str
    account: ServiceAccount

    def provider(self, *, timeout: float = 5.0, base_url: str | None = None) -> FcmProvider:
        return FcmProvider(
            credentials_file=str(self.account.path),
            base_url=base_url or self.url,
            timeout=timeout,
        )


@pytest.fixture
def fcm(tmp_path: Path) -> Iterator[Fcm]:
    fake = FakeFcm()
    with serve_in_thread(fake.app) as url:
        account = write_service_account(tmp_path, token_uri=f"{url}/token")
        fake.trust(account)
        yield Fcm(fake, url, account)


@pytest.fixture
async def provider(fcm: Fcm) -> AsyncIterator[FcmProvider]:
    provider = fcm.provider()
    yield provider
    await provider.close()


def push(recipient: str = DEVICE, **content: Any) -> OutgoingMessage:
    shipped = {"title": "Your order shipped", "body": "It arrives Friday."}
    return outgoing(Channel.PUSH, recipient, content or shipped)


async def test_a_push_is_posted_with_an_access_token_from_the_service_account(
    fcm: Fcm, provider: FcmProvider
) -> None:
    message = push(
        title="Your order shipped",
        body="It arrives Friday.",
        data={"order": 42, "kind": "shipping"},
    )

    result = await provider.send(message)

    [received] = fcm.fake.received
    [token] = fcm.fake.issued
    assert result == SendResult.sent("fcm", fcm.fake.names[0])
    assert received.path == f"/v1/projects/{fcm.account.project_id}/messages:send"
    assert received.authorization == f"Bearer {token}"
    assert received.body == {
        "message": {
            "token": DEVICE,
            "notification": {"title": "Your order shipped", "body": "It arrives Friday."},
            "data": {
                "order": "42",
                "kind": "shipping",
                "notification_id": str(message.notification_id),
            },
        }
    }
    # the fake keeps only assertions whose RS256 signature checked out
    [claims] = fcm.fake.assertions
    assert claims["iss"] == fcm.account.client_email
    assert claims["aud"] == TOKEN_AUDIENCE
    assert SCOPE in claims["scope"].split()


async def test_concurrent_sends_share_one_access_token(fcm: Fcm, provider: FcmProvider) -> None:
    results = await asyncio.gather(*(provider.send(push()) for _ in range(20)))

    assert [r.outcome for r in results] == [Outcome.SENT] * 20
    assert sorted(r.provider_message_id or "" for r in results) == sorted(fcm.fake.names)
    assert fcm.fake.token_requests == 1
    assert {r.authorization for r in fcm.fake.received} == {f"Bearer {fcm.fake.issued[0]}"}


async def test_an_expiring_access_token_is_replaced_before_it_is_used(
    fcm: Fcm, provider: FcmProvider
) -> None:
    fcm.fake.issue_tokens_for(1)

    first = await provider.send(push())
    await asyncio.sleep(1.2)  # the fake refuses the first token from now on
    second = await provider.send(push())

    assert (first.outcome, second.outcome) == (Outcome.SENT, Outcome.SENT)
    assert fcm.fake.token_requests == 2
    first_auth, second_auth = (r.authorization for r in fcm.fake.received)
    assert first_auth != second_auth


def http_date(seconds_ahead: int) -> str:
    return format_datetime(datetime.now(UTC) + timedelta(seconds=seconds_ahead), usegmt=True)


@pytest.mark.parametrize(
    ("answer", "outcome", "min_wait", "forget", "fault"),
    [
        (unregistered, Outcome.PERMANENT, None, True, False),
        (invalid_token, Outcome.PERMANENT, None, True, False),
        (invalid_token_field, Outcome.PERMANENT, None, True, False),
        (invalid_payload, Outcome.PERMANENT, None, False, False),
        (lambda: quota_exceeded(retry_after=30), Outcome.RETRY, 30, False, False),
        (lambda: quota_exceeded(retry_after=None), Outcome.RETRY, 60, False, False),
        # the token belongs to another project: that message fails, the token is kept
        (sender_id_mismatch, Outcome.PERMANENT, None, False, False),
        (third_party_auth_error, Outcome.PERMANENT, None, False, True),
        (internal, Outcome.RETRY, None, False, True),
        (lambda: internal(retry_after=7), Outcome.RETRY, 7, False, True),
        (unavailable, Outcome.RETRY, None, False, True),
        (lambda: unavailable(retry_after=12), Outcome.RETRY, 12, False, True),
        (lambda: unavailable(retry_after=http_date(90)), Outcome.RETRY, 85, False, True),
    ],
    ids=[
        "404-unregistered",
        "400-invalid-token",
        "400-invalid-token-field",
        "400-invalid-payload",
        "429-retry-after",
        "429-no-retry-after",
        "403-sender-id-mismatch",
        "401-third-party-auth",
        "500",
        "500-retry-after",
        "503",
        "503-retry-after",
        "503-retry-after-date",
    ],
)
async def test_fcm_answers_become_outcomes(
    fcm: Fcm,
    provider: FcmProvider,
    answer: Callable[[], Answer],
    outcome: Outcome,
    min_wait: float | None,
    forget: bool,
    fault: bool,
) -> None:
    fcm.fake.answer_next(answer())

    result = await provider.send(push())

    assert (result.outcome, result.forget_recipient, result.provider_fault) == (
        outcome,
        forget,
        fault,
    )
    assert result.provider == "fcm"
    assert result.provider_message_id is None
    assert result.error is not None
    assert result.error.startswith(f"fcm: {answer().status}")
    if min_wait is None:
        assert result.retry_after is None
    else:
        assert result.retry_after is not None
        assert result.retry_after >= min_wait
    # the answer was used up: the same provider sends the next message
    assert (await provider.send(push())).outcome is Outcome.SENT


async def test_an_oversized_payload_fails_for_good_and_keeps_the_token(
    fcm: Fcm, provider: FcmProvider
) -> None:
    result = await provider.send(push(title="Digest", body="x" * 5000))

    assert result.outcome is Outcome.PERMANENT
    assert not result.forget_recipient
    assert not result.provider_fault
    assert len(fcm.fake.received) == 1


async def test_an_error_never_quotes_the_message_or_the_access_token(
    fcm: Fcm, provider: FcmProvider
) -> None:
    # FCM quotes the offending value in its message; the result must not
    fcm.fake.answer_next(invalid_payload())

    result = await provider.send(push(title="Balance", body="Due", data={"amount": 42}))

    assert result.error is not None
    assert "42" not in result.error
    assert fcm.fake.issued[0] not in result.error


async def test_a_rejected_access_token_is_replaced_on_the_next_send(
    fcm: Fcm, provider: FcmProvider
) -> None:
    assert (await provider.send(push())).outcome is Outcome.SENT
    fcm.fake.revoke_tokens()

    rejected = await provider.send(push())
    recovered = await provider.send(push())

    # our access token, not the message: retried, and the retry gets a new token
    assert rejected.outcome is Outcome.RETRY
    assert rejected.provider_fault
    assert not rejected.forget_recipient
    assert recovered.outcome is Outcome.SENT
    assert fcm.fake.token_requests == 2
    first, second, third = (r.authorization for r in fcm.fake.received)
    assert first == second != third


async def test_a_refused_token_request_is_retried_as_a_provider_fault(
    fcm: Fcm, provider: FcmProvider
) -> None:
    fcm.fake.reject_assertions()

    refused = await provider.send(push())
    fcm.fake.reset()
    later = await provider.send(push())

    assert refused.outcome is Outcome.RETRY
    assert refused.provider_fault
    assert refused.error is not None
    assert "invalid_grant" in refused.error
    assert later.outcome is Outcome.SENT
    assert len(fcm.fake.received) == 1  # nothing was sent without a token


async def test_an_unreachable_token_endpoint_is_retried_as_a_provider_fault(
    fcm: Fcm, tmp_path: Path
) -> None:
    account = write_service_account(tmp_path, token_uri=f"http://127.0.0.1:{free_port()}/token")
    provider = FcmProvider(credentials_file=str(account.path), base_url=fcm.url, timeout=2.0)
    try:
        result = await provider.send(push())
    finally:
        await provider.close()

    assert result.outcome is Outcome.RETRY
    assert result.provider_fault
    assert fcm.fake.received == []


async def test_a_send_slower_than_the_timeout_is_retried_as_a_provider_fault(fcm: Fcm) -> None:
    provider = fcm.provider(timeout=0.5)
    fcm.fake.answer_next(slow(2))
    try:
        result = await provider.send(push())
    finally:
        await provider.close()

    assert result.outcome is Outcome.RETRY
    assert result.provider_fault
    assert not result.forget_recipient
    assert result.error == "fcm: timed out"  # the slow answer would have been 200


async def test_an_unreachable_fcm_is_retried_as_a_provider_fault(fcm: Fcm) -> None:
    provider = fcm.provider(base_url=f"http://127.0.0.1:{free_port()}")
    try:
        result = await provider.send(push())
    finally:
        await provider.close()

    assert result.outcome is Outcome.RETRY
    assert result.provider_fault


async def test_a_wrong_base_url_fails_as_a_provider_fault_and_keeps_the_token(fcm: Fcm) -> None:
    # a plain 404 is not FCM saying UNREGISTERED: no device token may be dropped for it
    provider = fcm.provider(base_url=f"{fcm.url}/not-fcm")
    try:
        result = await provider.send(push())
    finally:
        await provider.close()

    assert result.outcome is Outcome.PERMANENT
    assert result.provider_fault
    assert not result.forget_recipient
