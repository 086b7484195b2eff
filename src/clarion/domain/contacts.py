"""A user's push devices, and addresses that must not be written to."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from clarion.domain.enums import Platform


@dataclass(frozen=True)
class DeviceRecord:
    id: uuid.UUID
    user_id: uuid.UUID
    platform: Platform
    token: str
    created_at: datetime


@dataclass(frozen=True)
class Suppression:
    """An address nothing is sent to: an email that bounced hard, was dropped or
    complained of spam; an SMS number that replied STOP."""

    channel: str  # "EMAIL" or "SMS"
    address: str
    reason: str
    created_at: datetime
