"""Upgrading workers whose URGENT lane was read by the worker group: the lane's
new group of its own starts where the worker group left off (a real Tansu broker)."""

import time
import uuid

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from clarion.adapters.queue.kafka import KafkaQueue
from clarion.adapters.queue.kafka_wire import KafkaSettings
from clarion.domain.delivery import QueueMessage
from clarion.domain.enums import Channel, Priority
from tests.support.kafka import TansuBroker

FIRST_WAIT = 15.0


def urgent() -> QueueMessage:
    return QueueMessage(uuid.uuid4(), uuid.uuid4(), Channel.EMAIL, Priority.URGENT, 1, "r@x.io")


def handle_as_before(settings: KafkaSettings, topic: str, partitions: int, count: int) -> None:
    """What a worker of the earlier version did: read the URGENT lane in the
    worker group and commit past each message it handled."""
    consumer = Consumer(
        {
            "bootstrap.servers": settings.bootstrap_servers,
            "group.id": settings.group_id,
            "enable.auto.commit": False,
        }
    )
    try:
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
        handled = 0
        deadline = time.monotonic() + FIRST_WAIT
        while handled < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                consumer.commit(message=message, asynchronous=False)
                handled += 1
        assert handled == count
    finally:
        consumer.close()


async def test_urgent_messages_handled_before_the_upgrade_are_not_read_again(
    kafka_broker: TansuBroker,
) -> None:
    name = uuid.uuid4().hex[:8]
    settings = KafkaSettings(
        bootstrap_servers=kafka_broker.bootstrap,
        group_id=f"workers-{name}",
        topic_prefix=f"test-{name}",
        partitions=3,
    )
    queue = KafkaQueue(settings)
    try:
        await queue.ensure_topics()
        topic = queue.lane_topics[Priority.URGENT]
        await queue.publish([urgent() for _ in range(6)])
        handle_as_before(settings, topic, settings.partitions, 6)

        await queue.adopt_urgent_offsets()
        fresh = urgent()
        await queue.publish([fresh])
        got = await queue.consume(100, FIRST_WAIT, (Priority.URGENT,))
        await queue.ack(got)
        assert [m.notification_id for m in got] == [fresh.notification_id]
        assert await queue.consume(100, 1.0, (Priority.URGENT,)) == []

        # once the lane's group has offsets of its own, they are left alone
        await queue.adopt_urgent_offsets()
        later = urgent()
        await queue.publish([later])
        got = await queue.consume(100, FIRST_WAIT, (Priority.URGENT,))
        assert [m.notification_id for m in got] == [later.notification_id]
        await queue.ack(got)
    finally:
        await queue.close()
