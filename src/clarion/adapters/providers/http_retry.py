"""`Retry-After` as every provider and webhook receiver may send it: seconds or
an HTTP date. The value is untrusted; anything not finite is ignored and the
wait is clamped (the retry policy clamps again)."""

from __future__ import annotations

import math
import time
from datetime import UTC
from email.utils import parsedate_to_datetime

import httpx

LONGEST_WAIT = 86_400.0  # a day


def retry_after(response: httpx.Response, now: float | None = None) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = when.timestamp() - (time.time() if now is None else now)
    if not math.isfinite(seconds):
        return None
    return min(max(0.0, seconds), LONGEST_WAIT)
