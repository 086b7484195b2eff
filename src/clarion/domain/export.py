"""What an operator asks an export for: which rows, in which format."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

Kind = Literal["notifications", "events"]


class ExportFormat(StrEnum):
    NDJSON = "ndjson"
    CSV = "csv"


@dataclass(frozen=True)
class ExportFilters:
    """Filters combine with AND; a list matches any of its values. The time
    range is the notification's creation time, or the event's time."""

    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    user_id: uuid.UUID | None = None
    statuses: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    include_archived: bool = False

    def described(self) -> dict[str, Any]:
        """The filters that were set, as the audit trail records them."""
        named = {
            "from": self.since.isoformat() if self.since else None,
            "to": self.until.isoformat() if self.until else None,
            "userId": str(self.user_id) if self.user_id else None,
            "status": list(self.statuses) or None,
            "channel": list(self.channels) or None,
            "type": list(self.types) or None,
            "includeArchived": self.include_archived or None,
        }
        return {k: v for k, v in named.items() if v is not None}


def time_field(kind: Kind) -> str:
    return "createdAt" if kind == "notifications" else "timestamp"


def matches(kind: Kind, filters: ExportFilters, document: Mapping[str, Any]) -> bool:
    """Whether a document (as archives keep it) passes the filters."""
    at = datetime.fromisoformat(document[time_field(kind)])
    if filters.since is not None and at < filters.since:
        return False
    if filters.until is not None and at >= filters.until:
        return False
    if filters.user_id is not None and document["userId"] != str(filters.user_id):
        return False
    wanted = (
        ("status", filters.statuses),
        ("channel", filters.channels),
        ("type", filters.types),
    )
    return all(not values or document[name] in values for name, values in wanted)
