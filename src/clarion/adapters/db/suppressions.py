"""Addresses nothing is sent to, for the admins who list and lift them, and
the email ones the receipts add."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from clarion.adapters.db.models import EmailSuppression, SmsSuppression
from clarion.domain.contacts import Suppression


def email_key(address: str) -> str:
    """Mailbox names are compared without case: one suppression per address."""
    return address.strip().lower()


class SqlSuppressions:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def suppress_emails(self, found: Sequence[tuple[str, str]], now: datetime) -> None:
        """(address, reason) pairs; an address already suppressed keeps its first reason."""
        rows = {email_key(a): r[:500] for a, r in found if a.strip()}
        if not rows:
            return
        bind = self._session.get_bind()
        dialect = postgresql if bind.dialect.name == "postgresql" else sqlite
        await self._session.execute(
            dialect.insert(EmailSuppression).on_conflict_do_nothing(),
            [{"address": a, "reason": r, "created_at": now} for a, r in sorted(rows.items())],
        )

    async def of_emails(self, addresses: Iterable[str]) -> dict[str, str]:
        """The suppressed ones among these addresses (as given), with why."""
        wanted = {email_key(a): a for a in addresses}
        if not wanted:
            return {}
        rows = await self._session.execute(
            select(EmailSuppression.address, EmailSuppression.reason).where(
                EmailSuppression.address.in_(wanted)
            )
        )
        return {wanted[address]: reason for address, reason in rows}

    async def page(self, channel: str, *, offset: int, limit: int) -> list[Suppression]:
        if channel == "EMAIL":
            email_rows = await self._session.scalars(
                select(EmailSuppression)
                .order_by(EmailSuppression.created_at.desc(), EmailSuppression.address)
                .offset(offset)
                .limit(limit)
            )
            return [Suppression("EMAIL", r.address, r.reason, r.created_at) for r in email_rows]
        sms_rows = await self._session.scalars(
            select(SmsSuppression)
            .order_by(SmsSuppression.created_at.desc(), SmsSuppression.phone)
            .offset(offset)
            .limit(limit)
        )
        return [Suppression("SMS", r.phone, r.reason, r.created_at) for r in sms_rows]

    async def lift(self, channel: str, address: str) -> bool:
        if channel == "EMAIL":
            statement = delete(EmailSuppression).where(
                EmailSuppression.address == email_key(address)
            )
        else:
            statement = delete(SmsSuppression).where(SmsSuppression.phone == address)
        result = await self._session.execute(statement)
        return bool(result.rowcount)  # type: ignore[attr-defined]
