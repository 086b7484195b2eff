"""One-click unsubscribe (RFC 8058): signed, expiring links in every MARKETING
email, and what following one does."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

import jwt

from clarion.domain.content import EmailContent
from clarion.domain.enums import Channel, NotificationType
from clarion.domain.identity import AuditEntry
from clarion.domain.pipeline import Claimed
from clarion.domain.preferences import apply
from clarion.domain.time import utcnow
from clarion.ports import UnitOfWork

AUDIENCE = "clarion:unsubscribe"
MARKETING_EMAIL = (NotificationType.MARKETING, Channel.EMAIL)


class UnsubscribeLinks:
    """Makes and reads the links. A link names the user and what it turns off
    (marketing email), is signed with its own key, and expires."""

    def __init__(self, *, secret: bytes, base_url: str, days: int) -> None:
        self._secret = secret
        self._base = base_url.rstrip("/")
        self._life = timedelta(days=days)

    def link(self, user_id: uuid.UUID, now: datetime) -> str:
        claims = {
            "sub": str(user_id),
            "aud": AUDIENCE,
            "iat": int(now.timestamp()),
            "exp": int((now + self._life).timestamp()),
            "off": "MARKETING:EMAIL",
        }
        token = jwt.encode(claims, self._secret, algorithm="HS256")
        return f"{self._base}/unsubscribe/{token}"

    def user_of(self, token: str) -> uuid.UUID | None:
        """Whose link this is; None for a forged, altered or expired one."""
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                audience=AUDIENCE,
                options={"require": ["sub", "exp", "aud"]},
            )
            if claims.get("off") != "MARKETING:EMAIL":
                return None
            return uuid.UUID(str(claims["sub"]))
        except (jwt.InvalidTokenError, ValueError):
            return None

    def headers(self, user_id: uuid.UUID, now: datetime) -> tuple[tuple[str, str], ...]:
        return (
            ("List-Unsubscribe", f"<{self.link(user_id, now)}>"),
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        )

    def add_to(self, claimed: Sequence[Claimed], now: datetime) -> list[Claimed]:
        """Every MARKETING email gets the headers; nothing else changes."""
        out = []
        for item in claimed:
            content = item.content
            if isinstance(content, EmailContent) and item.record.type is NotificationType.MARKETING:
                headers = self.headers(item.record.user_id, now)
                item = replace(item, content=replace(content, headers=headers))
            out.append(item)
        return out


async def unsubscribe(uow: UnitOfWork, user_id: uuid.UUID) -> bool:
    """Turn marketing email off for the user; True if it was on. Doing it again
    changes nothing. A user deleted since the link was sent is nothing to do."""
    if await uow.users.get(user_id) is None:
        return False
    current = await uow.preferences.get(user_id)
    if current.type_channels.get(MARKETING_EMAIL) is False:
        return False
    changed = replace(current, type_channels=apply(current.type_channels, {MARKETING_EMAIL: False}))
    await uow.preferences.save(user_id, changed, utcnow())
    await uow.audit.record(
        AuditEntry(
            action="preferences.unsubscribe",
            actor_id=user_id,
            entity_type="user",
            entity_id=str(user_id),
            changes={"typeChannels": {"MARKETING": {"EMAIL": False}}, "via": "one-click link"},
        )
    )
    return True
