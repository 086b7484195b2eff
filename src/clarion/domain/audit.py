"""The audit trail as operators read it: entries, the filters over them, and
counts over a window."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class AuditRecord:
    id: uuid.UUID
    actor_id: uuid.UUID | None  # the account that acted (for an API key, its owner)
    action: str
    entity_type: str | None
    entity_id: str | None
    changes: dict[str, Any] | None
    ip_address: str | None
    user_agent: str | None
    timestamp: datetime


@dataclass(frozen=True)
class AuditQuery:
    actor_id: uuid.UUID | None = None
    actions: tuple[str, ...] = ()
    entity_type: str | None = None
    entity_id: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    after: tuple[datetime, uuid.UUID] | None = None  # the last entry of the previous page
    limit: int = 50


@dataclass(frozen=True)
class AuditPage:
    items: list[AuditRecord]
    last: tuple[datetime, uuid.UUID] | None  # set when there is a next page


@dataclass(frozen=True)
class AuditStats:
    total: int
    by_action: list[tuple[str, int]]  # most frequent first
    by_actor: list[tuple[uuid.UUID | None, int]]
