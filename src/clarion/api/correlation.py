"""Correlation ids: every request gets one, answers with it, and logs with it.

The id is the caller's `X-Correlation-ID` (else `X-Request-ID`) when it is a
sane token, else a new one: an id that could break a log line or a header is
replaced, never echoed. api/observe.py binds it into every log line of the
request; it is stored in accepted notifications' metadata
(routers/notifications.py) and carried by their queue messages to the
worker's lines.
"""

from __future__ import annotations

import re

HEADER = b"x-correlation-id"
FALLBACK_HEADER = b"x-request-id"
SANE = re.compile(rb"[A-Za-z0-9._:-]{1,128}")


def incoming_id(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The caller's id: X-Correlation-ID if given, else X-Request-ID; None unless sane."""
    given: bytes | None = None
    for name, value in headers:
        if name == HEADER:
            given = value
            break
        if name == FALLBACK_HEADER and given is None:
            given = value
    if given is None or SANE.fullmatch(given) is None:
        return None
    return given.decode("ascii")
