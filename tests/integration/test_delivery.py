"""Retries, priorities and idempotency, driven with a clock the test controls."""

import asyncio
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from clarion.adapters.db.models import Notification, SandboxMessage
from clarion.adapters.providers.sandbox import SandboxProvider
from clarion.adapters.queue.embedded import EmbeddedQueue
from clarion.api.app import create_app
from clarion.bootstrap import Container
from clarion.domain.delivery import QueueMessage
from clarion.domain.enums import Channel, EventType, NotificationStatus, NotificationType, Priority
from clarion.domain.notifications import NewNotification, RetryPolicy
from clarion.domain.pipeline import DeliveryOutcome
from clarion.domain.time import utcnow
from clarion.ports import Queue
from clarion.services.delivery import Deliverer
from clarion.services.outbox import recover_lost_work, sweep_once
from clarion.worker.consumer import Consumer
from clarion.worker.runtime import start
from tests.support.apps import serving, signed_in_admin


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def sandboxed(container: Container, policy: RetryPolicy, **options: Any) -> Deliverer:
    """A deliverer with every channel on the container's sandbox."""
    return Deliverer(dict.fromkeys(Channel, SandboxProvider(container.sandbox)), policy, **options)


def sandbox_consumer(
    container: Container, queue: Queue, clock: Callable[[], datetime], deliverer: Deliverer
) -> Consumer:
    """A worker's consumer on `queue`, with the test's clock and deliverer."""
    return Consumer(
        queue=queue,
        uow_factory=container.unit_of_work,
        deliverer=deliverer,
        cache=container.cache,
        batch_size=10,
        clock=clock,
    )


async def relay_for_a_moment(queue: Queue) -> None:
    stop = asyncio.Event()
    relay = asyncio.create_task(queue.relay_retries(stop))
    await asyncio.sleep(0.05)
    stop.set()
    await relay


async def new_user(container: Container) -> uuid.UUID:
    uow = container.unit_of_work()
    try:
        user = await container.auth.register(
            uow, email=f"{uuid.uuid4().hex[:8]}@example.com", password="long enough pw", name="U"
        )
        await uow.commit()
        return user.id
    finally:
        await uow.close()


async def store(container: Container, item: NewNotification, now: datetime) -> None:
    uow = container.unit_of_work()
    try:
        await uow.notifications.add_many([item], now)
        await uow.commit()
    finally:
        await uow.close()


def email_to(user_id: uuid.UUID, to: str, priority: Priority = Priority.MEDIUM) -> NewNotification:
    return NewNotification(
        user_id=user_id,
        channel=Channel.EMAIL,
        type=NotificationType.ALERT,
        priority=priority,
        payload={"subject": "s", "body": "b", "to": to},
        metadata=None,
        scheduled_for=None,
    )


async def test_a_transient_recipient_is_retried_on_the_policy_schedule(
    container: Container,
) -> None:
    t0 = datetime(2030, 1, 1, tzinfo=UTC)
    clock = Clock(t0)
    user = await new_user(container)
    item = email_to(user, "fail-transient-2@sandbox.clarion.dev")
    await store(container, item, t0 - timedelta(seconds=1))
    policy = RetryPolicy(max_retries=3, base_seconds=1.0, cap_seconds=300.0)
    ceilings: list[float] = []

    def widest(low: float, high: float) -> float:  # full jitter at its upper bound
        ceilings.append(high)
        return high

    queue = EmbeddedQueue(clock=clock)
    consumer = sandbox_consumer(container, queue, clock, sandboxed(container, policy, rng=widest))
    message = QueueMessage(item.id, user, Channel.EMAIL, Priority.MEDIUM, 1, "k")

    async def due_messages(at: datetime) -> list[uuid.UUID]:
        """What the sweeper and the retry relay hand to workers at `at`."""
        clock.now = at
        uow = container.unit_of_work()
        try:
            await sweep_once(uow, queue, container.sweep_settings, now=at)
        finally:
            await uow.close()
        await relay_for_a_moment(queue)
        return [m.notification_id for m in await queue.consume(10, wait_seconds=0)]

    first = await consumer.process([message])
    assert [o.event.value for o in first] == ["RETRIED"]
    assert first[0].next_attempt_at == t0 + timedelta(seconds=1)

    # not due yet: neither the sweeper nor a redelivered message can send it early
    assert await due_messages(t0 + timedelta(seconds=0.5)) == []
    assert await consumer.process([message]) == []

    assert await due_messages(t0 + timedelta(seconds=1)) == [item.id]
    second = await consumer.process([message])
    assert [o.event.value for o in second] == ["RETRIED"]
    assert second[0].next_attempt_at == clock.now + timedelta(seconds=2)

    assert await due_messages(clock.now + timedelta(seconds=2)) == [item.id]
    third = await consumer.process([message])
    assert [o.event.value for o in third] == ["SENT"]
    assert ceilings == [1.0, 2.0]  # base·2^(n-1): the policy's bounds, attempt by attempt

    uow = container.unit_of_work()
    try:
        events = await uow.notifications.events(item.id)
        record = await uow.notifications.get(item.id)
    finally:
        await uow.close()
    assert [e.type.value for e in events] == ["CREATED", "RETRIED", "RETRIED", "SENT"]
    assert [e.metadata["delaySeconds"] for e in events if e.type.value == "RETRIED"] == [1.0, 2.0]
    assert record is not None
    assert record.status.value == "SENT"
    assert record.attempts == 3


async def test_retry_after_from_a_provider_is_a_floor(container: Container) -> None:
    t0 = datetime(2030, 1, 1, tzinfo=UTC)
    user = await new_user(container)
    item = email_to(user, "rate-limited-30@sandbox.clarion.dev")
    await store(container, item, t0)
    # jitter at its lower bound would say "at once"
    deliverer = sandboxed(container, RetryPolicy(), rng=lambda low, high: low)
    consumer = sandbox_consumer(container, container.queue, lambda: t0, deliverer)
    [outcome] = await consumer.process(
        [QueueMessage(item.id, user, Channel.EMAIL, Priority.MEDIUM, 1, "k")]
    )
    assert outcome.next_attempt_at == t0 + timedelta(seconds=30)


async def test_retries_run_out_into_the_dead_letter_queue(container: Container) -> None:
    t0 = datetime(2030, 1, 1, tzinfo=UTC)
    clock = Clock(t0)
    user = await new_user(container)
    item = email_to(user, "fail-transient-9@sandbox.clarion.dev")
    await store(container, item, t0)
    deliverer = sandboxed(container, RetryPolicy(max_retries=3), rng=lambda low, high: high)
    consumer = sandbox_consumer(container, container.queue, clock, deliverer)
    message = QueueMessage(item.id, user, Channel.EMAIL, Priority.MEDIUM, 1, "k")
    kinds = []
    for _ in range(4):
        [outcome] = await consumer.process([message])
        kinds.append(outcome.event.value)
        clock.now += timedelta(seconds=10)
    assert kinds == ["RETRIED", "RETRIED", "RETRIED", "FAILED"]  # the seed: 3 retries, then DLQ


async def test_50_concurrent_posts_with_one_key_create_one_notification(
    container: Container,
) -> None:
    async with serving(create_app(container=container)) as http:
        admin, admin_id = await signed_in_admin(http, container, "idem@example.com")
        body = {
            "userId": str(admin_id),
            "channel": "SMS",
            "type": "TRANSACTIONAL",
            "payload": {"body": "Your code is 123456", "to": "+15551234567"},
        }
        headers = {**admin, "Idempotency-Key": "order-42-receipt"}
        responses = await asyncio.gather(
            *(http.post("/notifications", headers=headers, json=body) for _ in range(50))
        )
        statuses = sorted(r.status_code for r in responses)
        created = {r.json()["id"] for r in responses if r.status_code == 201}
        replay = await http.post("/notifications", headers=headers, json=body)
        other = await http.post(
            "/notifications", headers=headers, json={**body, "priority": "HIGH"}
        )
    print("statuses of 50 concurrent POSTs:", {s: statuses.count(s) for s in set(statuses)})
    assert set(statuses) <= {201, 409}
    assert len(created) == 1
    async with container.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Notification)) == 1
    assert replay.status_code == 201
    assert replay.json()["id"] in created
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"


async def test_an_urgent_notification_overtakes_a_backlog_of_10000_low_ones(
    container: Container,
) -> None:
    # workers start only once the backlog is queued
    async with serving(create_app(container=container)) as http:
        admin, admin_id = await signed_in_admin(http, container, "prio@example.com")

        def item(priority: str) -> dict[str, Any]:
            return {
                "userId": str(admin_id),
                "channel": "EMAIL",
                "type": "MARKETING",
                "priority": priority,
                "payload": {"subject": "t", "body": "b"},
            }

        for _ in range(10):
            batch = await http.post(
                "/notifications/batch",
                headers=admin,
                json={"notifications": [item("LOW")] * 1000},
            )
            assert batch.json()["created"] == 1000
        urgent = await http.post("/notifications", headers=admin, json=item("URGENT"))
        urgent_id = uuid.UUID(urgent.json()["id"])
        assert container.queue_depth()["LOW"] == 10_000

        background = await start(container, workers=True, schedule=False)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                async with container.sessions() as session:
                    done = await session.scalar(select(func.count()).select_from(SandboxMessage))
                if done and done >= 5000:
                    break
                await asyncio.sleep(0.05)
        finally:
            await background.shutdown()

    async with container.sessions() as session:
        urgent_at = await session.scalar(
            select(SandboxMessage.created_at).where(SandboxMessage.notification_id == urgent_id)
        )
        assert urgent_at is not None
        ahead = await session.scalar(
            select(func.count())
            .select_from(SandboxMessage)
            .where(SandboxMessage.created_at < urgent_at)
        )
    print(f"URGENT sent after {ahead} of 10,000 LOW notifications")
    assert ahead is not None
    assert ahead < 5000


async def test_the_sweeper_publishes_committed_rows_whose_publish_was_lost(
    container: Container,
) -> None:
    now = datetime.now(UTC)
    user = await new_user(container)
    items = [email_to(user, f"lost-{i}@example.com") for i in range(3)]
    uow = container.unit_of_work()
    try:  # committed, but the process "died" before publishing: nothing was queued
        await uow.notifications.add_many(items, now)
        await uow.commit()
    finally:
        await uow.close()
    settings = container.sweep_settings

    async def sweep(at: datetime) -> set[uuid.UUID]:
        uow = container.unit_of_work()
        try:
            await sweep_once(uow, container.queue, settings, now=at)
        finally:
            await uow.close()
        return {m.notification_id for m in await container.queue.consume(100, wait_seconds=0)}

    assert await sweep(now) == set()  # within the grace period the API may still publish
    assert await sweep(now + settings.grace) == {item.id for item in items}
    assert await sweep(now + settings.grace * 2) == set()  # confirmed: not published twice


async def test_concurrent_sweepers_never_take_the_same_row(container: Container) -> None:
    now = datetime.now(UTC)
    user = await new_user(container)
    items = [email_to(user, f"due-{i}@example.com") for i in range(600)]
    uow = container.unit_of_work()
    try:
        await uow.notifications.add_many(items, now - timedelta(minutes=1))
        await uow.commit()
    finally:
        await uow.close()

    async def one_sweeper() -> list[uuid.UUID]:
        taken: list[uuid.UUID] = []
        while True:
            uow = container.unit_of_work()
            try:
                messages = await uow.notifications.take_unpublished(
                    now, grace=timedelta(seconds=1), limit=50
                )
                await uow.commit()
            finally:
                await uow.close()
            if not messages:
                return taken
            taken += [m.notification_id for m in messages]

    results = await asyncio.gather(*(one_sweeper() for _ in range(4)))
    everything = [i for taken in results for i in taken]
    print("rows taken per sweeper:", [len(taken) for taken in results])
    assert len(everything) == len(set(everything)) == 600


async def test_a_worker_whose_claim_was_taken_back_cannot_overwrite_the_new_owner(
    container: Container,
) -> None:
    """Worker A claims, its lease runs out, the sweeper returns the row and
    worker B claims and sends it; A's late outcome must not land."""
    t0 = datetime(2030, 1, 1, tzinfo=UTC)
    user = await new_user(container)
    item = email_to(user, "someone@example.com")
    await store(container, item, t0 - timedelta(seconds=1))

    async def claim(at: datetime) -> None:
        uow = container.unit_of_work()
        try:
            assert len(await uow.notifications.claim([item.id], at)) == 1
            await uow.commit()
        finally:
            await uow.close()

    await claim(t0)  # worker A
    uow = container.unit_of_work()
    try:
        await uow.notifications.recover(
            t0 + timedelta(minutes=10), claim_lease=timedelta(minutes=5), redelivery=timedelta(0)
        )
        await uow.commit()
    finally:
        await uow.close()
    t1 = t0 + timedelta(minutes=10)
    await claim(t1)  # worker B

    def outcome(status: NotificationStatus, event: EventType) -> DeliveryOutcome:
        return DeliveryOutcome(item.id, user, Channel.EMAIL, status, event, provider="sandbox")

    uow = container.unit_of_work()
    try:
        by_b = await uow.notifications.record_outcomes(
            [outcome(NotificationStatus.SENT, EventType.SENT)], t1, claimed_at=t1
        )
        by_a = await uow.notifications.record_outcomes(
            [outcome(NotificationStatus.PENDING, EventType.RETRIED)], t1, claimed_at=t0
        )
        await uow.commit()
        record = await uow.notifications.get(item.id)
        events = await uow.notifications.events(item.id)
    finally:
        await uow.close()
    assert (by_b, by_a) == ([item.id], [])
    assert record is not None
    assert record.status is NotificationStatus.SENT
    assert [e.type for e in events] == [EventType.CREATED, EventType.SENT]


async def test_a_provider_that_hangs_is_retried_after_the_send_timeout(
    container: Container,
) -> None:
    t0 = datetime(2030, 1, 1, tzinfo=UTC)
    user = await new_user(container)
    item = email_to(user, "slow-5000@example.com")
    await store(container, item, t0 - timedelta(seconds=1))
    deliverer = sandboxed(container, RetryPolicy(), send_timeout=0.2)
    consumer = sandbox_consumer(container, container.queue, lambda: t0, deliverer)
    started = time.monotonic()
    [result] = await consumer.process(
        [QueueMessage(item.id, user, Channel.EMAIL, Priority.MEDIUM, 1, "k")]
    )
    assert time.monotonic() - started < 2
    assert result.event is EventType.RETRIED
    assert result.error == "sandbox: timed out"


async def test_a_lapsed_idempotency_reservation_cannot_finish_over_its_successor(
    container: Container,
) -> None:
    from clarion.adapters.db.idempotency import ABANDONED_AFTER

    t0 = datetime.now(UTC)
    uow = container.unit_of_work()
    try:
        keys = uow.idempotency
        assert await keys.reserve("user:1", "k", "hash", t0, timedelta(hours=24)) is None
        later = t0 + ABANDONED_AFTER + timedelta(seconds=1)
        # the first request looks dead: a retry with the same key takes it over
        assert await keys.reserve("user:1", "k", "hash", later, timedelta(hours=24)) is None
        assert await keys.finish("user:1", "k", 201, {"id": "first"}, reserved_at=t0) is False
        assert await keys.finish("user:1", "k", 201, {"id": "second"}, reserved_at=later)
        await uow.commit()
        replay = await keys.reserve("user:1", "k", "hash", later, timedelta(hours=24))
    finally:
        await uow.close()
    assert replay is not None
    assert replay.body == {"id": "second"}


async def one_transient_failure(
    container: Container, queue: Queue, t0: datetime
) -> tuple[NewNotification, DeliveryOutcome]:
    """A notification whose first attempt, at t0, fails transiently: its retry is
    due at t0 + 1 s and handed to `queue`."""
    user = await new_user(container)
    item = email_to(user, "fail-transient-1@sandbox.clarion.dev")
    await store(container, item, t0 - timedelta(seconds=10))
    deliverer = sandboxed(container, RetryPolicy(base_seconds=1.0), rng=lambda low, high: high)
    consumer = sandbox_consumer(container, queue, lambda: t0, deliverer)
    [outcome] = await consumer.process(
        [QueueMessage(item.id, user, Channel.EMAIL, Priority.MEDIUM, 1, "k")]
    )
    return item, outcome


class RefusingRetries(EmbeddedQueue):
    """The queue is down just when a worker hands it a retry."""

    async def publish_retries(self, messages: Sequence[QueueMessage]) -> None:
        raise ConnectionError("queue unreachable")


async def test_a_retry_the_queue_refused_is_published_by_the_sweeper_once_due(
    container: Container,
) -> None:
    t0 = datetime(2030, 1, 1, tzinfo=UTC)
    queue = RefusingRetries()
    item, outcome = await one_transient_failure(container, queue, t0)
    assert outcome.next_attempt_at == t0 + timedelta(seconds=1)
    grace = container.sweep_settings.grace

    async def swept(at: datetime) -> list[uuid.UUID]:
        uow = container.unit_of_work()
        try:
            await sweep_once(uow, queue, container.sweep_settings, now=at)
        finally:
            await uow.close()
        return [m.notification_id for m in await queue.consume(10, wait_seconds=0)]

    assert await swept(t0 + timedelta(seconds=1)) == []  # due, but the relay may still have it
    assert await swept(t0 + timedelta(seconds=1) + grace) == [item.id]
    assert await swept(t0 + timedelta(seconds=1) + grace * 2) == []  # once


async def test_a_confirmed_retry_is_left_to_the_relay(container: Container) -> None:
    t0 = datetime(2030, 1, 1, tzinfo=UTC)
    queue = EmbeddedQueue(clock=lambda: t0)
    await one_transient_failure(container, queue, t0)
    uow = container.unit_of_work()
    try:
        much_later = t0 + timedelta(minutes=1)
        taken = await uow.notifications.take_unpublished(
            much_later, grace=container.sweep_settings.grace, limit=10
        )
        assert taken == []
        # the row waits for the retry the relay holds, not for another publish
        reclaimed, republished = await uow.notifications.recover(
            much_later, claim_lease=timedelta(minutes=5), redelivery=timedelta(minutes=5)
        )
        assert (reclaimed, republished) == (0, 0)
    finally:
        await uow.close()
    stats = await queue.stats()
    assert stats["retriesWaiting"] == 1


async def test_an_unclaimed_row_still_waiting_in_its_lane_is_not_published_again(
    container: Container,
) -> None:
    """Past the redelivery window, an unclaimed row is published again only if
    its lane's workers have handled everything before it: one waiting behind a
    backlog would otherwise be read twice, and a deep backlog many times over."""
    user = await new_user(container)
    long_ago = utcnow() - timedelta(hours=1)
    waiting = email_to(user, "waiting@example.com", Priority.LOW)
    lost = email_to(user, "lost@example.com", Priority.MEDIUM)
    uow = container.unit_of_work()
    try:
        await uow.notifications.add_many([waiting, lost], long_ago)
        await uow.notifications.mark_published([waiting.id, lost.id], long_ago)
        await uow.commit()
    finally:
        await uow.close()
    queue = EmbeddedQueue()  # the LOW lane still holds the first; MEDIUM is empty
    await queue.publish([QueueMessage(waiting.id, user, Channel.EMAIL, Priority.LOW, 1, "k")])

    uow = container.unit_of_work()
    try:
        assert await recover_lost_work(uow, queue, container.sweep_settings) == (0, 1)
        again = await uow.notifications.take_unpublished(utcnow(), grace=timedelta(0), limit=10)
        assert [m.notification_id for m in again] == [lost.id]
    finally:
        await uow.close()
