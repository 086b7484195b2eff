"""Cache keys (versioned, as the seed's scheme) and the tags that invalidate them."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from clarion.ports import Cache

NOTIFICATION_TTL = 600.0
USER_LIST_TTL = 60.0


def notification_key(notification_id: uuid.UUID) -> str:
    return f"notification:v1:{notification_id}"


def user_list_key(user_id: uuid.UUID, query_digest: str) -> str:
    return f"notifications:user:v1:{user_id}:{query_digest}"


def user_tag(user_id: uuid.UUID) -> str:
    return f"user:{user_id}"


async def forget_notifications(cache: Cache, owners: Mapping[uuid.UUID, uuid.UUID]) -> None:
    """Drop the cached views of changed notifications (id → owner): each one,
    and every cached page of its owner's."""
    if owners:
        await cache.delete(*(notification_key(notification_id) for notification_id in owners))
        await cache.invalidate_tag(*{user_tag(user_id) for user_id in owners.values()})
