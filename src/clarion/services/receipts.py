"""Provider receipts, parsed and mapped to `ProviderEvent`s.

SendGrid posts a JSON array of events; Twilio posts one status per form. Events
Clarion has no use for (`processed`, `deferred`, `sent`, ...) are acknowledged and
counted as ignored, and so is an event that lacks what it needs (an event id):
the provider would otherwise redeliver it for a day and it would never apply.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeGuard

from clarion.domain.errors import ClarionError
from clarion.domain.receipts import Applied, ProviderEvent, ReceiptKind

K = ReceiptKind
SENDGRID_KINDS = {
    "delivered": K.DELIVERED,
    "open": K.OPENED,
    "click": K.CLICKED,
    "bounce": K.FAILED,
    "dropped": K.FAILED,
}
TWILIO_KINDS = {
    "delivered": K.DELIVERED,
    "read": K.OPENED,
    "undelivered": K.FAILED,
    "failed": K.FAILED,
}
MAX_REASON = 500  # a bounce's SMTP reply can be long; keep what a reader needs
MAX_EVENT_ID = 255  # the width of the receipts table's key


class MalformedReceipts(ClarionError):
    status = 400
    code = "bad_request"


class InvalidJson(MalformedReceipts):
    code = "invalid_json"


@dataclass(frozen=True)
class Receipts:
    """What a webhook request carried: the events to apply and how many were skipped."""

    events: list[ProviderEvent]
    ignored: int
    # (address, reason): email addresses never to write to again
    suppress: list[tuple[str, str]] = field(default_factory=list)


def sendgrid_receipts(body: bytes) -> Receipts:
    try:
        items = json.loads(body)
    except (ValueError, RecursionError):
        raise InvalidJson("The request body is not valid JSON.") from None
    if not isinstance(items, list):
        raise MalformedReceipts("The request body must be a JSON array of events.")
    events = [event for item in items if (event := sendgrid_event(item)) is not None]
    suppress = [found for item in items if (found := sendgrid_suppression(item)) is not None]
    return Receipts(events=events, ignored=len(items) - len(events), suppress=suppress)


def sendgrid_suppression(item: object) -> tuple[str, str] | None:
    """The address to suppress, and why: a hard bounce (not a `blocked` one, which
    is temporary), a drop (SendGrid itself will not deliver to it), a spam
    complaint (the reader asked, in the strongest way, for no more)."""
    if not isinstance(item, dict):
        return None
    name, address = item.get("event"), text(item.get("email"))
    if not address or len(address) > 320:
        return None
    reason = text(item.get("reason"))
    if name == "bounce" and text(item.get("type")) != "blocked":
        return address, f"hard bounce: {reason or 'bounced'}"[:MAX_REASON]
    if name == "dropped":
        return address, f"dropped: {reason or 'dropped'}"[:MAX_REASON]
    if name == "spamreport":
        return address, "spam complaint"
    return None


def sendgrid_event(item: object) -> ProviderEvent | None:
    """One SendGrid event, or None when Clarion ignores it. Our custom arg
    `notification_id` names the notification; without it, the message id does
    (`sg_message_id` starts with the `X-Message-Id` the send returned, then a dot)."""
    if not isinstance(item, dict):
        return None
    name, event_id = item.get("event"), item.get("sg_event_id")
    if not isinstance(name, str) or name not in SENDGRID_KINDS or not usable_id(event_id):
        return None
    kind = SENDGRID_KINDS[name]
    detail: dict[str, Any] = {"providerStatus": name}
    if kind is K.FAILED:
        reason = text(item.get("reason")) or text(item.get("type")) or name
        detail["reason"] = reason[:MAX_REASON]
    return ProviderEvent(
        provider="sendgrid",
        event_id=event_id,
        kind=kind,
        notification_id=as_uuid(item.get("notification_id")),
        provider_message_id=sendgrid_message_id(item.get("sg_message_id")),
        occurred_at=from_epoch(item.get("timestamp")),
        detail=detail,
    )


def twilio_receipts(params: Mapping[str, str]) -> Receipts:
    """Twilio has no event id; each status arrives once per message, so the
    message and its status name the event."""
    sid = params.get("MessageSid", "")
    status = params.get("MessageStatus", "")
    kind, event_id = TWILIO_KINDS.get(status), f"{sid}:{status}"
    if kind is None or not sid or not usable_id(event_id):
        return Receipts(events=[], ignored=1)
    detail: dict[str, Any] = {"providerStatus": status}
    if kind is K.FAILED:
        code = params.get("ErrorCode", "")
        detail["reason"] = (f"{status} (error {code})" if code else status)[:MAX_REASON]
        if code:
            detail["errorCode"] = code
    event = ProviderEvent(
        provider="twilio",
        event_id=event_id,
        kind=kind,
        provider_message_id=sid,
        detail=detail,
    )
    return Receipts(events=[event], ignored=0)


def tally(outcomes: Iterable[Applied], ignored: int) -> dict[str, int]:
    """The webhook's answer: how many events were applied (moving the notification
    or only recorded), seen before, about no notification, or ignored."""
    counts = Counter(outcomes)
    return {
        "applied": counts[Applied.MOVED] + counts[Applied.RECORDED],
        "duplicates": counts[Applied.DUPLICATE],
        "unknown": counts[Applied.UNKNOWN],
        "ignored": ignored,
    }


def usable_id(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and 0 < len(value) <= MAX_EVENT_ID


def text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def sendgrid_message_id(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    return value.split(".", 1)[0] or None


def as_uuid(value: object) -> uuid.UUID | None:
    if not isinstance(value, str):
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def from_epoch(value: object) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None
