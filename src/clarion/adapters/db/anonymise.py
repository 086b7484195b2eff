"""Anonymisation in SQL: one user's personal data replaced everywhere the
database keeps it, in the caller's transaction, with the rows changed counted
by table. Counts, statuses and times stay, for statistics."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, String, cast, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from clarion.adapters.db.batch_sql import EVENTS
from clarion.adapters.db.models import (
    Anonymisation,
    ApiKeyRow,
    AuditLog,
    Device,
    EmailSuppression,
    Event,
    IdempotencyKey,
    Notification,
    RefreshTokenRow,
    SandboxMessage,
    SmsSuppression,
    User,
)
from clarion.adapters.db.notifications import like_pattern, payload_mentions
from clarion.adapters.db.rows import event_row
from clarion.adapters.db.suppressions import email_key
from clarion.domain.anonymise import (
    ANONYMISED_NAME,
    ANONYMISED_PAYLOAD,
    AnonymisationStats,
    Anonymised,
    pseudonym_email,
    scrubbed,
    scrubbed_values,
)
from clarion.domain.enums import EventType, NotificationStatus
from clarion.domain.identity import UserAccount
from clarion.domain.notifications import CANCELLABLE

UNUSABLE_PASSWORD = "!"  # noqa: S105 (not a secret: no hash verifies against it)


def count(result: Any) -> int:
    return int(result.rowcount or 0)


class SqlAnonymisations:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, user_id: uuid.UUID) -> Anonymised | None:
        row = await self._session.get(Anonymisation, user_id)
        if row is None:
            return None
        return Anonymised(
            row.user_id, row.pseudonym, row.anonymised_at, row.requested_by, dict(row.rows)
        )

    async def anonymise(
        self, user: UserAccount, pseudonym: str, requested_by: uuid.UUID | None, now: datetime
    ) -> Anonymised:
        """Everything in the caller's transaction; rows changed, by table."""
        personal = [p for p in (user.email, user.phone, user.name) if p]
        addresses = [p for p in (user.email, user.phone) if p]
        rows: dict[str, int] = {}
        rows["users"] = await self._account(user, pseudonym, now)
        rows["refresh_tokens"] = count(
            await self._session.execute(
                delete(RefreshTokenRow).where(RefreshTokenRow.user_id == user.id)
            )
        )
        rows["api_keys"] = count(
            await self._session.execute(
                update(ApiKeyRow)
                .where(ApiKeyRow.created_by == user.id, ApiKeyRow.revoked_at.is_(None))
                .values(revoked_at=now)
            )
        )
        rows["devices"] = count(
            await self._session.execute(delete(Device).where(Device.user_id == user.id))
        )
        rows["cancelled"] = await self._cancel_waiting(user.id, now)
        rows["notifications"] = await self._notifications(user.id, addresses, personal, pseudonym)
        rows["events"] = count(
            await self._session.execute(
                update(Event).where(Event.user_id == user.id).values(metadata_=None)
            )
        )
        rows["sandbox_messages"] = await self._sandbox(user.id, addresses, pseudonym)
        rows["idempotency_keys"] = await self._idempotency(user.id, addresses)
        rows["suppressions"] = await self._suppressions(user)
        rows["audit_logs"] = await self._audit(user.id, addresses, personal, pseudonym)
        self._session.add(
            Anonymisation(
                user_id=user.id,
                pseudonym=pseudonym,
                anonymised_at=now,
                requested_by=requested_by,
                rows=rows,
            )
        )
        await self._session.flush()
        return Anonymised(user.id, pseudonym, now, requested_by, rows)

    async def revoked_prefixes(self, user_id: uuid.UUID) -> list[str]:
        """The prefixes of the user's API keys (to drop their cached principals)."""
        found = await self._session.scalars(
            select(ApiKeyRow.prefix).where(ApiKeyRow.created_by == user_id)
        )
        return list(found)

    async def notification_ids(self, user_id: uuid.UUID) -> list[uuid.UUID]:
        found = await self._session.scalars(
            select(Notification.id).where(Notification.user_id == user_id)
        )
        return list(found)

    async def stats(self, since: datetime) -> AnonymisationStats:
        users = await self._session.scalar(select(func.count()).select_from(Anonymisation))
        recent = await self._session.scalar(
            select(func.count()).where(Anonymisation.anonymised_at >= since)
        )
        last_at = await self._session.scalar(select(func.max(Anonymisation.anonymised_at)))
        totals: dict[str, int] = {}
        for changed in await self._session.scalars(select(Anonymisation.rows)):
            for table, n in changed.items():
                totals[table] = totals.get(table, 0) + int(n)
        return AnonymisationStats(int(users or 0), since, int(recent or 0), last_at, totals)

    async def _account(self, user: UserAccount, pseudonym: str, now: datetime) -> int:
        return count(
            await self._session.execute(
                update(User)
                .where(User.id == user.id)
                .values(
                    email=pseudonym_email(pseudonym),
                    name=ANONYMISED_NAME,
                    phone=None,
                    password=UNUSABLE_PASSWORD,
                    # tokens carry whole seconds: this second's ones end too
                    sessions_valid_after=now.replace(microsecond=0) + timedelta(seconds=1),
                    updated_at=now,
                )
            )
        )

    async def _cancel_waiting(self, user_id: uuid.UUID, now: datetime) -> int:
        """Nothing more goes out to them: what still waits is cancelled."""
        cancelled = (
            await self._session.execute(
                update(Notification)
                .where(Notification.user_id == user_id, Notification.status.in_(CANCELLABLE))
                .values(status=NotificationStatus.CANCELLED, updated_at=now, next_attempt_at=None)
                .returning(Notification.id, Notification.channel)
            )
        ).all()
        if cancelled:
            events = [
                event_row(
                    nid,
                    user_id,
                    channel,
                    EventType.CANCELLED,
                    NotificationStatus.CANCELLED,
                    now,
                    {"reason": "the user was anonymised"},
                )
                for nid, channel in cancelled
            ]
            await self._session.execute(insert(EVENTS), events)
        return len(cancelled)

    async def _notifications(
        self,
        user_id: uuid.UUID,
        addresses: Sequence[str],
        personal: Sequence[str],
        pseudonym: str,
    ) -> int:
        """Theirs, and any other whose payload names their address."""
        mentioned: list[ColumnElement[bool]] = [payload_mentions(a) for a in addresses]
        changed = count(
            await self._session.execute(
                update(Notification)
                .where(or_(Notification.user_id == user_id, *mentioned))
                .values(payload=dict(ANONYMISED_PAYLOAD), metadata_=None)
                .execution_options(synchronize_session=False)
            )
        )
        errors = await self._session.execute(
            select(Notification.id, Notification.error_message).where(
                Notification.user_id == user_id, Notification.error_message.is_not(None)
            )
        )
        for nid, message in errors.all():
            cleaned = scrubbed(message, personal, pseudonym)
            if cleaned != message:
                await self._session.execute(
                    update(Notification)
                    .where(Notification.id == nid)
                    .values(error_message=cleaned)
                    .execution_options(synchronize_session=False)
                )
        return changed

    async def _sandbox(self, user_id: uuid.UUID, addresses: Sequence[str], pseudonym: str) -> int:
        theirs = select(Notification.id).where(Notification.user_id == user_id)
        recipient = [func.lower(SandboxMessage.recipient) == a.lower() for a in addresses]
        return count(
            await self._session.execute(
                update(SandboxMessage)
                .where(or_(SandboxMessage.notification_id.in_(theirs), *recipient))
                .values(recipient=pseudonym_email(pseudonym), content=dict(ANONYMISED_PAYLOAD))
                .execution_options(synchronize_session=False)
            )
        )

    async def _idempotency(self, user_id: uuid.UUID, addresses: Sequence[str]) -> int:
        """Stored answers replayed to a retried request: theirs, and any about them
        (a retried request then runs again, which for them does nothing)."""
        keys = select(ApiKeyRow.id).where(ApiKeyRow.created_by == user_id)
        scopes = [f"user:{user_id}", *[f"api_key:{k}" for k in await self._session.scalars(keys)]]
        body = cast(IdempotencyKey.response_body, String)
        named = [str(user_id), *addresses]  # an answer about their notification names its user id
        naming = [body.ilike(like_pattern(a), escape="\\") for a in named]
        return count(
            await self._session.execute(
                delete(IdempotencyKey).where(or_(IdempotencyKey.scope.in_(scopes), *naming))
            )
        )

    async def _suppressions(self, user: UserAccount) -> int:
        removed = count(
            await self._session.execute(
                delete(EmailSuppression).where(EmailSuppression.address == email_key(user.email))
            )
        )
        if user.phone:
            removed += count(
                await self._session.execute(
                    delete(SmsSuppression).where(SmsSuppression.phone == user.phone)
                )
            )
        return removed

    async def _audit(
        self,
        user_id: uuid.UUID,
        addresses: Sequence[str],
        personal: Sequence[str],
        pseudonym: str,
    ) -> int:
        """Their own requests lose where they came from; every entry about them
        or naming them has the names replaced."""
        await self._session.execute(
            update(AuditLog)
            .where(AuditLog.user_id == user_id)
            .values(ip_address=None, user_agent=None)
        )
        text = cast(AuditLog.changes, String)
        naming = [text.ilike(like_pattern(a), escape="\\") for a in addresses]
        about = await self._session.execute(
            select(AuditLog.id, AuditLog.changes).where(
                or_(
                    AuditLog.entity_id == str(user_id),
                    AuditLog.user_id == user_id,
                    *naming,
                )
            )
        )
        changed = 0
        for entry_id, changes in about.all():
            cleaned = scrubbed_values(changes, personal, pseudonym)
            if cleaned != changes:
                await self._session.execute(
                    update(AuditLog).where(AuditLog.id == entry_id).values(changes=cleaned)
                )
                changed += 1
        return changed
