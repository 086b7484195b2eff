"""A provider's Retry-After is untrusted: parsed in both forms, clamped, and
never able to push a retry past what a date can hold."""

from datetime import UTC, datetime

import httpx

from clarion.adapters.providers.http_retry import LONGEST_WAIT, retry_after
from clarion.domain.notifications import RetryPolicy, retry_at

NOW = 1_700_000_000.0


def answer(value: str | None) -> httpx.Response:
    return httpx.Response(503, headers={} if value is None else {"Retry-After": value})


def test_seconds_and_http_dates_are_read() -> None:
    assert retry_after(answer("7"), NOW) == 7.0
    later = datetime.fromtimestamp(NOW + 90, UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert retry_after(answer(later), NOW) == 90.0
    assert retry_after(answer("-5"), NOW) == 0.0  # already past


def test_missing_or_unreadable_values_give_no_wait() -> None:
    for value in (None, "", "soon", "nan", "inf", "-inf"):
        assert retry_after(answer(value), NOW) is None, value


def test_huge_waits_are_clamped() -> None:
    assert retry_after(answer("1e20"), NOW) == LONGEST_WAIT
    assert retry_after(answer("Fri, 31 Dec 9999 23:59:59 GMT"), NOW) == LONGEST_WAIT


def test_the_policy_clamps_whatever_a_provider_reports() -> None:
    policy = RetryPolicy()
    now = datetime(2030, 1, 1, tzinfo=UTC)
    for reported in (1e20, float("inf")):
        delay = policy.delay(1, retry_after=reported, rng=lambda low, high: high)
        assert delay == policy.longest_wait_seconds
        retry_at(now, delay)  # a date far away, not an OverflowError
    assert policy.delay(1, retry_after=float("nan"), rng=lambda low, high: high) == 1.0
    assert policy.delay(1, retry_after=30, rng=lambda low, high: low) == 30
