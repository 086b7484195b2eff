"""Applying provider receipts: once per provider event, forward only."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from sqlalchemy import insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from clarion.adapters.db.batch_sql import EVENTS
from clarion.adapters.db.models import Notification, ProviderReceipt
from clarion.adapters.db.rows import event_row
from clarion.domain.enums import NotificationStatus, Receipt
from clarion.domain.receipts import (
    EVENT_FOR,
    RANK,
    Applied,
    ProviderEvent,
    ReceiptKind,
    ReceiptOutcome,
)

S = NotificationStatus


class SqlReceipts:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def apply(self, event: ProviderEvent, now: datetime) -> ReceiptOutcome:
        found = await self._find(event)
        if found is None:
            return ReceiptOutcome(Applied.UNKNOWN)
        matched = partial(ReceiptOutcome, notification_id=found.id, user_id=found.user_id)
        try:
            async with self._session.begin_nested():
                await self._session.execute(
                    insert(ProviderReceipt).values(
                        provider=event.provider,
                        event_id=event.event_id,
                        notification_id=found.id,
                        received_at=now,
                    )
                )
        except IntegrityError:
            return matched(Applied.DUPLICATE)
        moved = await self._move(found, event, now)
        status = S.FAILED if moved and event.kind is ReceiptKind.FAILED else found.status
        metadata = {"provider": event.provider, "providerEventId": event.event_id, **event.detail}
        if event.occurred_at is not None:
            metadata["occurredAt"] = event.occurred_at.isoformat()
        await self._session.execute(
            insert(EVENTS),
            [
                event_row(
                    found.id,
                    found.user_id,
                    found.channel,
                    EVENT_FOR[event.kind],
                    status,
                    now,
                    metadata,
                )
            ],
        )
        return matched(Applied.MOVED if moved else Applied.RECORDED)

    async def _find(self, event: ProviderEvent) -> Notification | None:
        query = select(Notification).where(Notification.provider == event.provider)
        if event.notification_id is not None:
            query = query.where(Notification.id == event.notification_id)
        elif event.provider_message_id:
            query = query.where(Notification.provider_message_id == event.provider_message_id)
        else:
            return None
        return (await self._session.execute(query)).scalars().first()

    async def _move(self, found: Notification, event: ProviderEvent, now: datetime) -> bool:
        """A conditional update, so two receipts racing cannot move it backwards."""
        if event.kind is ReceiptKind.FAILED:
            # the provider gave up before any delivery: the notification failed after all
            statement = (
                update(Notification)
                .where(
                    Notification.id == found.id,
                    Notification.status == S.SENT,
                    Notification.receipt.is_(None),
                )
                .values(
                    status=S.FAILED,
                    failed_at=now,
                    error_message=f"{event.provider}: {event.detail.get('reason', 'undelivered')}",
                    updated_at=now,
                )
            )
        else:
            target = Receipt(event.kind.value)
            lower = [r for r, rank in RANK.items() if r is not None and rank < RANK[target]]
            statement = (
                update(Notification)
                .where(
                    Notification.id == found.id,
                    Notification.status == S.SENT,
                    or_(Notification.receipt.is_(None), Notification.receipt.in_(lower)),
                )
                .values(receipt=target, updated_at=now)
            )
        result = await self._session.execute(statement.execution_options(synchronize_session=False))
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]
