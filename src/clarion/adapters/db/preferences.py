"""Users' preferences, one JSON document per user:
`{"channels": {"SMS": false}, "types": {"MARKETING": false},
"typeChannels": {"ALERT": {"PUSH": true}}}`."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from clarion.adapters.db.models import UserPreferencesRow
from clarion.domain.enums import Channel, NotificationType
from clarion.domain.preferences import Preferences, window_json, window_of


def preferences_from(settings: dict[str, Any]) -> Preferences:
    return Preferences(
        channels={Channel(k): bool(v) for k, v in settings.get("channels", {}).items()},
        types={NotificationType(k): bool(v) for k, v in settings.get("types", {}).items()},
        type_channels={
            (NotificationType(t), Channel(c)): bool(v)
            for t, per in settings.get("typeChannels", {}).items()
            for c, v in per.items()
        },
        timezone=settings.get("timezone"),
        quiet_hours=tuple(
            window_of(w["days"], w["from"], w["to"]) for w in settings.get("quietHours", [])
        ),
    )


def settings_of(preferences: Preferences) -> dict[str, Any]:
    pairs: dict[str, dict[str, bool]] = {}
    for (type_, channel), allowed in sorted(preferences.type_channels.items()):
        pairs.setdefault(type_.value, {})[channel.value] = allowed
    return {
        "channels": {c.value: v for c, v in sorted(preferences.channels.items())},
        "types": {t.value: v for t, v in sorted(preferences.types.items())},
        "typeChannels": pairs,
        "timezone": preferences.timezone,
        "quietHours": [window_json(w) for w in preferences.quiet_hours],
    }


class SqlPreferences:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, user_id: uuid.UUID) -> Preferences:
        row = await self._session.get(UserPreferencesRow, user_id)
        return preferences_from(row.settings) if row else Preferences()

    async def of_users(self, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Preferences]:
        """Everyone's who set any, in one read; the others have none."""
        wanted = list(set(user_ids))
        if not wanted:
            return {}
        rows = await self._session.scalars(
            select(UserPreferencesRow).where(UserPreferencesRow.user_id.in_(wanted))
        )
        return {row.user_id: preferences_from(row.settings) for row in rows}

    async def save(self, user_id: uuid.UUID, preferences: Preferences, now: datetime) -> None:
        row = await self._session.get(UserPreferencesRow, user_id, with_for_update=True)
        if row is None:
            self._session.add(
                UserPreferencesRow(
                    user_id=user_id, settings=settings_of(preferences), updated_at=now
                )
            )
        else:
            row.settings = settings_of(preferences)
            row.updated_at = now
        await self._session.flush()
