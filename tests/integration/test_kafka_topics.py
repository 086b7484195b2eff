"""The topics Clarion creates on a real (Tansu) broker, and their retention."""

import time
import uuid
from pathlib import Path

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

from clarion.adapters.queue.kafka import KafkaQueue
from clarion.adapters.queue.kafka_wire import KafkaSettings
from clarion.bootstrap import build_container
from clarion.domain.delivery import QueueMessage
from clarion.domain.enums import Channel, Priority
from tests.conftest import make_settings
from tests.support.kafka import TansuBroker

DAY_MS = 86_400_000


def retention_ms(bootstrap: str, topic: str) -> int | None:
    """The topic's retention.ms, None when the broker reports none set."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    [future] = admin.describe_configs([resource]).values()
    entry = future.result(timeout=10).get("retention.ms")
    return int(entry.value) if entry is not None and entry.value is not None else None


async def test_retry_and_dead_letter_topics_are_created_with_their_retention(
    tmp_path: Path,
) -> None:
    # a broker of its own: the shared one may already hold topics of these names
    broker = TansuBroker(tmp_path / "tansu.log").start()
    settings = make_settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'clarion.db'}",
        kafka_bootstrap_servers=broker.bootstrap,
        kafka_retry_retention_days=2,
    )
    container = build_container(settings)
    try:
        queue = container.queue
        assert isinstance(queue, KafkaQueue)
        await queue.ensure_topics()
        assert retention_ms(broker.bootstrap, queue.retry_topic) == 2 * DAY_MS
        assert retention_ms(broker.bootstrap, queue.dlq_topic) == 30 * DAY_MS  # the seed's
        # the lanes are the broker's to keep: a topic nobody set keeps its default
        lane = next(iter(queue.lane_topics.values()))
        assert retention_ms(broker.bootstrap, lane) not in (2 * DAY_MS, 30 * DAY_MS)
    finally:
        await container.close()
        broker.stop()


def two_partition_queue(bootstrap: str, prefix: str) -> KafkaQueue:
    """A queue whose group and topics no other test uses."""
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    return KafkaQueue(
        KafkaSettings(bootstrap_servers=bootstrap, group_id=name, topic_prefix=name, partitions=2)
    )


def message(priority: Priority) -> QueueMessage:
    return QueueMessage(uuid.uuid4(), uuid.uuid4(), Channel.EMAIL, priority, 1, "r@example.com")


async def consume_until(queue: KafkaQueue, wanted: QueueMessage, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        taken = await queue.consume(10, 1.0)
        await queue.ack(taken)
        if any(m.notification_id == wanted.notification_id for m in taken):
            return True
    return False


async def test_a_worker_that_joined_before_a_lane_existed_reads_it_once_it_does(
    kafka_broker: TansuBroker,
) -> None:
    """What a broker restarting empty does: the group forms while only some of
        the lane topics exist again, and no rebalance follows when the rest appear.
        librdkafka joins again when its metadata shows the new topics; when it
    does not (the retry relay kept no partitions after a restart in a local run), the worker notices
    that it lacks a lane and joins again itself (kafka_assignment)."""
    queue = two_partition_queue(kafka_broker.bootstrap, "rejoin")
    admin = AdminClient({"bootstrap.servers": kafka_broker.bootstrap})
    [created] = admin.create_topics([NewTopic(queue.lane_topics[Priority.LOW], 2, 1)]).values()
    created.result(timeout=10)
    try:
        low = message(Priority.LOW)
        await queue.publish([low])
        assert await consume_until(queue, low, 30)  # the group formed with LOW alone

        await queue.ensure_topics()
        medium = message(Priority.MEDIUM)
        await queue.publish([medium])
        assert await consume_until(queue, medium, 60)
    finally:
        await queue.close()


async def test_a_worker_left_nothing_by_a_restarted_broker_reads_again_once_topics_return(
    tmp_path: Path,
) -> None:
    """A broker that restarts empty sees the worker's consumers join again at
    once, with the topics they knew, before anything creates those topics again:
    the group forms with nothing to assign. Tansu then answers every further
    join of the same member with that same empty assignment, so the worker must
    join as a new member once the topics are back (kafka_assignment)."""
    broker = TansuBroker(tmp_path / "tansu.log").start()
    queue = two_partition_queue(broker.bootstrap, "restart")
    try:
        await queue.ensure_topics()
        before = message(Priority.LOW)
        await queue.publish([before])
        assert await consume_until(queue, before, 30)

        broker.stop()
        broker.start()  # same port, no topics, no groups
        # the consumers find their member gone and join again while no topic exists
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            await queue.consume(10, 0.5)

        await queue.ensure_topics()
        after = message(Priority.LOW)
        await publish_again_and_again(queue, after)
        assert await consume_until(queue, after, 60)
    finally:
        await queue.close()
        broker.stop()


async def publish_again_and_again(queue: KafkaQueue, wanted: QueueMessage) -> None:
    """As the outbox sweeper does: the producer of before the restart fails its
    first publishes, and the queue starts a new one."""
    deadline = time.monotonic() + 60
    while True:
        try:
            await queue.publish([wanted])
            return
        except KafkaException:
            if time.monotonic() > deadline:
                raise
