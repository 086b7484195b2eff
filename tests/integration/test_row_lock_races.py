"""Row-lock races between processes on PostgreSQL: the API confirming publishes
while a worker records outcomes for some of the same rows. (SQLite has one
writer and no row locks, so these are PostgreSQL's alone.)"""

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg  # type: ignore[import-untyped]
import pytest

from clarion.bootstrap import Container
from clarion.domain.enums import Channel, EventType, NotificationStatus, NotificationType, Priority
from clarion.domain.notifications import NewNotification
from clarion.domain.pipeline import DeliveryOutcome
from clarion.domain.time import utcnow
from clarion.services.pipeline.record import record
from tests.support.databases import asyncpg_url
from tests.support.identity import add_user


@pytest.fixture(params=["postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def other_process(settings_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection of its own, as another process would hold."""
    connection = await asyncpg.connect(asyncpg_url(settings_url))
    yield connection
    await connection.close()


@pytest.fixture
def settings_url(database_url: str) -> str:
    return database_url


async def stored(container: Container, count: int) -> list[uuid.UUID]:
    """`count` accepted in-app notifications, not yet confirmed as published,
    in the order they were made (so in id order)."""
    user_id = await add_user(container, f"{uuid.uuid4().hex[:8]}@example.com")
    items = [
        NewNotification(
            user_id=user_id,
            channel=Channel.IN_APP,
            type=NotificationType.TRANSACTIONAL,
            priority=Priority.MEDIUM,
            payload={"title": "Hi", "body": f"number {n}"},
            metadata=None,
            scheduled_for=None,
        )
        for n in range(count)
    ]
    async with container.grouped() as uow:
        await uow.notifications.add_many(items, utcnow())
    return sorted(item.id for item in items)


async def test_a_publish_confirmation_does_not_wait_for_rows_a_worker_holds(
    container: Container, other_process: asyncpg.Connection
) -> None:
    held, free = await stored(container, 2)
    # a worker is claiming one row: its transaction holds the row's lock
    transaction = other_process.transaction()
    await transaction.start()
    await other_process.execute(
        "UPDATE notifications SET status = 'PROCESSING', attempts = attempts + 1 WHERE id = $1",
        held,
    )
    try:

        async def confirm() -> None:
            async with container.grouped() as uow:
                await uow.notifications.mark_published([held, free], utcnow())

        # waiting for the worker's lock while holding the others' is what
        # deadlocked with the worker's multi-row outcome UPDATE
        await asyncio.wait_for(confirm(), timeout=10)
    finally:
        await transaction.rollback()
    confirmed = dict(
        await other_process.fetch("SELECT id, published_at IS NOT NULL FROM notifications")
    )
    # the free row is confirmed; the held one is left to its claim (or, if that
    # rolls back, to the sweeper's publish after the grace period)
    assert confirmed == {held: False, free: True}


async def test_outcomes_are_recorded_even_when_their_transaction_is_a_deadlock_victim(
    container: Container, other_process: asyncpg.Connection
) -> None:
    first, second = await stored(container, 2)
    claimed_at = utcnow()
    async with container.grouped() as uow:
        claims = await uow.notifications.claim([first, second], claimed_at)
    outcomes = [
        DeliveryOutcome.of(c.record, NotificationStatus.SENT, EventType.SENT, provider="sandbox")
        for c in claims
    ]
    # another transaction holds the second row; the outcome UPDATE takes the first
    # (rows in id order) and waits for the second; then the other transaction
    # asks for the first: a cycle, and PostgreSQL aborts the outcome's transaction,
    # which waited longest
    transaction = other_process.transaction()
    await transaction.start()
    await other_process.execute("UPDATE notifications SET updated_at = now() WHERE id = $1", second)
    recording = asyncio.create_task(
        record(container.grouped, outcomes, utcnow(), claimed_at=claimed_at)
    )
    await asyncio.sleep(0.3)
    assert not recording.done()
    await other_process.execute("UPDATE notifications SET updated_at = now() WHERE id = $1", first)
    await transaction.commit()

    stored_ids = await asyncio.wait_for(recording, timeout=30)
    assert stored_ids == {first, second}
    async with container.reading() as uow:
        for notification_id in (first, second):
            row = await uow.notifications.get(notification_id)
            assert row is not None
            assert row.status is NotificationStatus.SENT
            events = [e.type for e in await uow.notifications.events(notification_id)]
            assert events.count(EventType.SENT) == 1
