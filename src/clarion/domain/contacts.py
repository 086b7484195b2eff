"""A user's push devices."""

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
