"""The queue contract, run against the embedded queue and against Kafka (a real
Tansu broker): each test gets topics and a consumer group of its own."""

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from clarion.adapters.queue.embedded import EmbeddedQueue
from clarion.adapters.queue.kafka import KafkaQueue
from clarion.adapters.queue.kafka_wire import KafkaSettings
from clarion.domain.delivery import QueueMessage
from clarion.domain.enums import Channel, Priority
from clarion.domain.time import utcnow
from clarion.ports import Queue

VISIBILITY = 0.3
# a Kafka consumer joins its group before anything arrives (about 3 s on Tansu)
FIRST_WAIT = 15.0


@pytest.fixture(params=["embedded", "kafka"])
async def queue(request: pytest.FixtureRequest) -> AsyncIterator[Queue]:
    if request.param == "embedded":
        adapter: Queue = EmbeddedQueue(visibility_timeout=VISIBILITY)
    else:
        broker = request.getfixturevalue("kafka_broker")
        name = uuid.uuid4().hex[:8]
        kafka = KafkaQueue(
            KafkaSettings(
                bootstrap_servers=broker.bootstrap,
                group_id=f"workers-{name}",
                topic_prefix=f"test-{name}",
                partitions=3,
                visibility_timeout=VISIBILITY,
            )
        )
        await kafka.ensure_topics()
        adapter = kafka
    yield adapter
    await adapter.close()


def message(priority: Priority = Priority.MEDIUM, key: str = "r@example.com") -> QueueMessage:
    return QueueMessage(uuid.uuid4(), uuid.uuid4(), Channel.EMAIL, priority, 1, key)


async def join(queue: Queue) -> None:
    """Wait until the consumer has joined its group for every lane (a Kafka
    worker has one consumer for URGENT and one for the rest)."""
    waiting = [message(), message(Priority.URGENT)]
    sent = {m.notification_id for m in waiting}
    await queue.publish(waiting)
    deadline = time.monotonic() + FIRST_WAIT
    while sent and time.monotonic() < deadline:
        got = await queue.consume(10, wait_seconds=1.0)
        await queue.ack(got)
        sent -= {m.notification_id for m in got}
    assert not sent, "the consumer never received both lanes"


async def drain(queue: Queue, wait: float = 0.05) -> list[QueueMessage]:
    taken: list[QueueMessage] = []
    while batch := await queue.consume(100, wait_seconds=wait):
        taken += batch
        await queue.ack(batch)
    return taken


async def test_published_messages_are_consumed_once_acknowledged(queue: Queue) -> None:
    sent = [message() for _ in range(5)]
    await queue.publish(sent)
    got = await queue.consume(100, wait_seconds=FIRST_WAIT)
    assert {m.notification_id for m in got} == {m.notification_id for m in sent}
    await queue.ack(got)
    assert await drain(queue) == []


async def test_consume_waits_at_most_the_given_time(queue: Queue) -> None:
    started = time.monotonic()
    assert await queue.consume(10, wait_seconds=0.2) == []
    assert time.monotonic() - started < 1.0


async def test_urgent_work_is_handed_out_before_a_backlog(queue: Queue) -> None:
    """Of the work that has reached the consumer, the most urgent goes first.
    (A Kafka consumer that has just joined its group receives each partition in
    its own time, so the first message it can hand out may be any lane's: the
    consumer joins, and the broker's answers arrive, before the lanes are read.)"""
    await join(queue)
    backlog = [message(Priority.LOW) for _ in range(50)]
    await queue.publish(backlog)
    urgent = message(Priority.URGENT)
    high = message(Priority.HIGH)
    await queue.publish([high, urgent])
    await asyncio.sleep(1.0)
    first = await queue.consume(1, wait_seconds=FIRST_WAIT)
    await queue.ack(first)
    second = await queue.consume(1, wait_seconds=FIRST_WAIT)
    await queue.ack(second)
    assert [first[0].notification_id, second[0].notification_id] == [
        urgent.notification_id,
        high.notification_id,
    ]


async def test_urgent_work_published_after_a_buffered_backlog_is_not_held_behind_it(
    queue: Queue,
) -> None:
    """A LOW backlog already handed to this consumer (and buffered by it) does
    not hide URGENT work published later: the next consume hands it out."""
    await join(queue)
    await queue.publish([message(Priority.LOW) for _ in range(300)])
    await asyncio.sleep(1.0)
    low = await queue.consume(10, wait_seconds=FIRST_WAIT)
    assert {m.priority for m in low} == {Priority.LOW}
    urgent = message(Priority.URGENT)
    await queue.publish([urgent])
    await asyncio.sleep(1.0)
    got = await queue.consume(10, wait_seconds=FIRST_WAIT)
    assert [m.notification_id for m in got] == [urgent.notification_id]


async def test_a_consumer_kept_for_urgent_work_takes_only_its_lanes(queue: Queue) -> None:
    await join(queue)
    await queue.publish([message(Priority.LOW) for _ in range(5)])
    await asyncio.sleep(1.0)
    assert await queue.consume(10, 0.5, (Priority.URGENT,)) == []
    urgent = message(Priority.URGENT)
    await queue.publish([urgent])
    got = await queue.consume(10, FIRST_WAIT, (Priority.URGENT,))
    assert [m.notification_id for m in got] == [urgent.notification_id]
    rest = await queue.consume(10, FIRST_WAIT)
    assert {m.priority for m in rest} == {Priority.LOW}


async def test_one_recipients_messages_keep_their_order_in_a_lane(queue: Queue) -> None:
    sent = [message(key="same@example.com") for _ in range(20)]
    await queue.publish(sent)
    got = list(await queue.consume(100, wait_seconds=FIRST_WAIT))
    await queue.ack(got)
    got += await drain(queue, wait=1.0)
    assert [m.notification_id for m in got] == [m.notification_id for m in sent]


async def test_a_message_never_acknowledged_is_delivered_again(queue: Queue) -> None:
    lost = message()
    await queue.publish([lost])
    first = await queue.consume(10, wait_seconds=FIRST_WAIT)
    assert [m.notification_id for m in first] == [lost.notification_id]
    # the consumer "dies" without acknowledging
    again = await queue.consume(10, wait_seconds=VISIBILITY * 5)
    assert [m.notification_id for m in again] == [lost.notification_id]
    await queue.ack(again)
    assert await drain(queue) == []


async def test_an_acknowledged_message_is_not_delivered_again(queue: Queue) -> None:
    done = message()
    await queue.publish([done])
    await queue.ack(await queue.consume(10, wait_seconds=FIRST_WAIT))
    assert await queue.consume(10, wait_seconds=VISIBILITY * 2) == []


async def test_a_waiting_message_republished_with_a_new_priority_changes_lane(
    queue: Queue,
) -> None:
    await join(queue)
    backlog = [message(Priority.LOW) for _ in range(20)]
    await queue.publish(backlog)
    promoted = backlog[-1]
    await queue.publish(
        [
            QueueMessage(
                promoted.notification_id,
                promoted.user_id,
                promoted.channel,
                Priority.URGENT,
                1,
                promoted.key,
            )
        ]
    )
    await asyncio.sleep(1.0)  # both have reached the consumer
    first = await queue.consume(1, wait_seconds=FIRST_WAIT)
    await queue.ack(first)
    assert first[0].notification_id == promoted.notification_id


async def test_retries_reach_their_lane_at_their_due_time_and_not_before(queue: Queue) -> None:
    stop = asyncio.Event()
    relay = asyncio.create_task(queue.relay_retries(stop))
    try:
        # once this arrives, the relay and the worker side are both running
        await queue.publish_retries([replace(message(), due_at=utcnow())])
        warm_up = await queue.consume(10, wait_seconds=FIRST_WAIT * 2)
        assert len(warm_up) == 1, "the relay or the consumer never started"
        await queue.ack(warm_up)

        published = utcnow()
        later = replace(message(Priority.HIGH), due_at=published + timedelta(seconds=2.5))
        sooner = replace(message(Priority.LOW), due_at=published + timedelta(seconds=0.8))
        # the later one goes first: it must not hold the sooner one up
        await queue.publish_retries([later])
        await queue.publish_retries([sooner])
        arrivals: dict[uuid.UUID, datetime] = {}
        deadline = time.monotonic() + 20
        while len(arrivals) < 2 and time.monotonic() < deadline:
            for got in await queue.consume(10, wait_seconds=0.5):
                arrivals.setdefault(got.notification_id, utcnow())
                assert got.due_at is not None
                await queue.ack([got])
    finally:
        stop.set()
        await relay
    assert list(arrivals) == [sooner.notification_id, later.notification_id]
    for sent in (sooner, later):
        assert sent.due_at is not None
        due = (sent.due_at - published).total_seconds()
        waited = (arrivals[sent.notification_id] - published).total_seconds()
        print(f"due after {due} s, arrived after {waited:.2f} s")
        assert arrivals[sent.notification_id] >= sent.due_at


async def test_consumers_waiting_together_leave_the_process_running(queue: Queue) -> None:
    """Several loops consuming at once, as a worker runs them: each waits without
    holding up the rest of the process, and together they take every message."""
    await join(queue)
    stop, everything = asyncio.Event(), asyncio.Event()
    sent = [message(Priority.URGENT if i % 4 == 0 else Priority.LOW) for i in range(400)]
    taken: list[QueueMessage] = []
    ticks = 0

    async def consumer() -> None:
        while not stop.is_set():
            got = await queue.consume(10, 0.05)
            if got:
                await asyncio.sleep(0.002)  # the batch's work
            await queue.ack(got)
            taken.extend(got)
            if len(taken) >= len(sent):
                everything.set()

    async def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            await asyncio.sleep(0.01)
            ticks += 1

    running = [asyncio.create_task(consumer()) for _ in range(3)]
    running.append(asyncio.create_task(ticker()))
    for start in range(0, len(sent), 4):
        await queue.publish(sent[start : start + 4])
        await asyncio.sleep(0.02)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(everything.wait(), FIRST_WAIT)
    stop.set()
    await asyncio.gather(*running)
    assert {m.notification_id for m in taken} == {m.notification_id for m in sent}
    assert ticks >= 100  # at least 2 s of publishing at 10 ms a tick, with room to spare


async def test_a_lane_is_behind_until_its_messages_are_handled(queue: Queue) -> None:
    """What the sweeper asks before publishing an unclaimed row again: a lane
    still holding its message is behind; once handled, it is not."""
    await join(queue)
    assert await queue.behind(utcnow() + timedelta(seconds=1)) == set()
    low = message(Priority.LOW)
    await queue.publish([low])
    assert await queue.behind(utcnow() + timedelta(seconds=1)) == {Priority.LOW}

    got = await queue.consume(10, wait_seconds=FIRST_WAIT)
    assert [m.notification_id for m in got] == [low.notification_id]
    assert await queue.behind(utcnow() + timedelta(seconds=1)) == {Priority.LOW}  # not acked
    await queue.ack(got)
    assert await queue.behind(utcnow() + timedelta(seconds=1)) == set()
