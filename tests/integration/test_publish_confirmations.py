"""Publish confirmations (the outbox's `published_at`) for a queue that
survives restarts: every accepted row is confirmed, and concurrent requests
share their confirmation writes instead of one transaction each."""

import asyncio

from sqlalchemy import func, select

from clarion.adapters.db.models import Notification
from clarion.adapters.queue.embedded import EmbeddedQueue
from clarion.bootstrap import Container
from clarion.domain.enums import Channel, NotificationType, Priority, Role
from clarion.domain.identity import Principal
from clarion.domain.notifications import NewNotification
from clarion.ports import UnitOfWork
from clarion.services.notifications import NotificationService
from tests.support.identity import add_user


async def test_every_accepted_row_is_confirmed_by_fewer_writes_than_requests(
    container: Container,
) -> None:
    user_id = await add_user(container, "confirm@example.com")
    units: list[UnitOfWork] = []

    def counted() -> UnitOfWork:
        unit = container.grouped()
        units.append(unit)
        return unit

    service = NotificationService(queue=EmbeddedQueue(), uow_factory=counted, confirm_publish=True)
    principal = Principal(kind="user", id=user_id, role=Role.USER)

    async def request() -> None:
        item = NewNotification(
            user_id=user_id,
            channel=Channel.IN_APP,
            type=NotificationType.TRANSACTIONAL,
            priority=Priority.MEDIUM,
            payload={"title": "Hi", "body": "there"},
            metadata=None,
            scheduled_for=None,
        )
        async with container.grouped() as uow:
            await service.accept(uow, principal, [item])

    await asyncio.gather(*(request() for _ in range(30)))
    await service.confirmations.close()

    async with container.reading() as uow:
        session = uow.session  # type: ignore[attr-defined]
        total = await session.scalar(select(func.count()).select_from(Notification))
        unconfirmed = await session.scalar(
            select(func.count()).where(Notification.published_at.is_(None))
        )
    assert total == 30
    assert unconfirmed == 0
    assert 1 <= len(units) < 30
