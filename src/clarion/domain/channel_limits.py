"""What each channel will do with a piece of content, so a template preview can
warn before sending: how an SMS body is encoded and how many billed segments it
becomes, whether a push notification fits the providers' payload limit, and
which parts of an email are actually present."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

SmsEncoding = Literal["GSM-7", "UCS-2"]

# 3GPP TS 23.038 default alphabet, one string per column of the spec's table
# (0x00-0x0F, 0x10-0x1F, ...), so a reader can check it against the standard.
# Position 0x1B is the escape into the extension table, not a character.
_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
# Sent as escape + code, so each costs the carrier two septets.
_GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

_GSM7_SINGLE = 160
_GSM7_PART = 153
_UCS2_SINGLE = 70
_UCS2_PART = 67

PUSH_PAYLOAD_LIMIT = 4096


@dataclass(frozen=True)
class SmsReport:
    encoding: SmsEncoding
    characters: int
    segments: int


@dataclass(frozen=True)
class PushReport:
    bytes: int
    limit: int
    fits: bool


@dataclass(frozen=True)
class EmailReport:
    has_subject: bool
    has_text: bool
    has_html: bool


def sms_report(body: str) -> SmsReport:
    """The encoding a carrier will use for `body`, its length in the units the
    carrier counts, and the number of segments it will be billed as."""
    if all(ch in _GSM7_BASIC or ch in _GSM7_EXTENSION for ch in body):
        costs = [2 if ch in _GSM7_EXTENSION else 1 for ch in body]
        return SmsReport("GSM-7", sum(costs), _segments(costs, _GSM7_SINGLE, _GSM7_PART))
    costs = [2 if ord(ch) > 0xFFFF else 1 for ch in body]
    return SmsReport("UCS-2", sum(costs), _segments(costs, _UCS2_SINGLE, _UCS2_PART))


def _segments(costs: list[int], single: int, part: int) -> int:
    # A concatenated part may not end halfway through an escape pair (GSM-7) or a
    # surrogate pair (UCS-2), so a two-unit character that would straddle the
    # boundary starts the next part, and the count can exceed ceil(total / part).
    total = sum(costs)
    if total == 0:
        return 0
    if total <= single:
        return 1
    parts, used = 1, 0
    for cost in costs:
        if used + cost > part:
            parts, used = parts + 1, 0
        used += cost
    return parts


def push_report(title: str, body: str, data: dict[str, str] | None) -> PushReport:
    """The size of the notification as FCM and APNs measure it: UTF-8 bytes of
    the compact JSON payload, without a `data` member when there is no data."""
    payload: dict[str, object] = {"notification": {"title": title, "body": body}}
    if data is not None:
        payload["data"] = data
    encoded = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    size = len(encoded)
    return PushReport(bytes=size, limit=PUSH_PAYLOAD_LIMIT, fits=size <= PUSH_PAYLOAD_LIMIT)


def email_report(subject: str, text: str, html: str | None) -> EmailReport:
    """Which parts of an email carry content; whitespace alone counts as absent,
    since a recipient sees nothing there."""
    return EmailReport(
        has_subject=bool(subject.strip()),
        has_text=bool(text.strip()),
        has_html=html is not None and bool(html.strip()),
    )
