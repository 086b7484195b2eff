"""What an anonymised user's data becomes: stable pseudonyms in place of who
they were, with the counts, statuses and times kept for statistics."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

PSEUDONYM_DOMAIN = "anonymised.invalid"  # RFC 2606: never delivers
ANONYMISED_ADDRESS = "@" + PSEUDONYM_DOMAIN
ANONYMISED_NAME = "Anonymised user"
ANONYMISED_TEXT = "[anonymised]"
ANONYMISED_PAYLOAD: dict[str, Any] = {"anonymised": True}


def pseudonym_of(user_id: uuid.UUID) -> str:
    """The same user always gets the same pseudonym, in every process and table."""
    digest = hashlib.sha256(b"clarion-anonymised:" + user_id.bytes).hexdigest()
    return f"anon-{digest[:16]}"


def pseudonym_email(pseudonym: str) -> str:
    return f"{pseudonym}@{PSEUDONYM_DOMAIN}"


def scrubbed(text: str | None, personal: Iterable[str], pseudonym: str) -> str | None:
    """`text` with every occurrence of the personal strings (any case) replaced."""
    if text is None:
        return None
    lowered = text.lower()
    for value in sorted({p for p in personal if p}, key=len, reverse=True):
        start = lowered.find(value.lower())
        while start >= 0:
            text = text[:start] + pseudonym + text[start + len(value) :]
            lowered = text.lower()
            start = lowered.find(value.lower(), start + len(pseudonym))
    return text


def scrubbed_values(value: Any, personal: Iterable[str], pseudonym: str) -> Any:
    """A JSON value with every string in it scrubbed (keys are left alone)."""
    if isinstance(value, str):
        return scrubbed(value, personal, pseudonym)
    if isinstance(value, dict):
        return {k: scrubbed_values(v, personal, pseudonym) for k, v in value.items()}
    if isinstance(value, list):
        return [scrubbed_values(v, personal, pseudonym) for v in value]
    return value


def anonymised_notification(document: Mapping[str, Any]) -> dict[str, Any]:
    """An archived notification of an anonymised user, as it may be read: what
    was sent and to whom is gone; channel, type, status and times stay."""
    doc = dict(document)
    doc["payload"] = dict(ANONYMISED_PAYLOAD)
    doc["metadata"] = None
    if doc.get("errorMessage") is not None:
        doc["errorMessage"] = ANONYMISED_TEXT
    return doc


def anonymised_event(document: Mapping[str, Any]) -> dict[str, Any]:
    doc = dict(document)
    doc["metadata"] = None
    return doc


@dataclass(frozen=True)
class Anonymised:
    """One user's anonymisation: when, by whom, and how many rows changed where."""

    user_id: uuid.UUID
    pseudonym: str
    anonymised_at: datetime
    requested_by: uuid.UUID | None
    rows: dict[str, int]


@dataclass(frozen=True)
class AnonymisationStats:
    users: int
    since: datetime  # the window of `recent`
    recent: int
    last_at: datetime | None
    rows: dict[str, int]  # every anonymisation's changed rows, by table
