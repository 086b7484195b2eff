"""The Kafka message body carries the accepting request's correlation id, and
bodies written before it was carried still decode."""

from __future__ import annotations

import json
import uuid

from confluent_kafka import Message

from clarion.adapters.queue.kafka_wire import decode, encode
from clarion.domain.delivery import QueueMessage
from clarion.domain.enums import Channel, Priority


def message(correlation_id: str | None) -> QueueMessage:
    return QueueMessage(
        notification_id=uuid.uuid4(),
        user_id=uuid.uuid4(),
        channel=Channel.EMAIL,
        priority=Priority.HIGH,
        attempt=2,
        key="a@example.com",
        correlation_id=correlation_id,
    )


def received(body: bytes) -> Message:
    return Message(topic="notifications.high", partition=1, offset=7, key=b"k", value=body)


def test_the_correlation_id_goes_in_the_seeds_metadata_field_and_comes_back() -> None:
    sent = message("order-42")
    body = encode(sent)
    assert json.loads(body)["metadata"]["correlationId"] == "order-42"
    back = decode(received(body))
    assert back.correlation_id == "order-42"
    assert (back.notification_id, back.attempt, back.priority) == (
        sent.notification_id,
        2,
        Priority.HIGH,
    )


def test_a_body_without_a_correlation_id_still_decodes() -> None:
    sent = message(None)
    body = json.loads(encode(sent))
    del body["metadata"]["correlationId"]
    back = decode(received(json.dumps(body).encode()))
    assert back.notification_id == sent.notification_id
    assert back.correlation_id is None


def test_a_message_of_a_notification_without_one_carries_its_own_id_as_before() -> None:
    sent = message(None)
    assert json.loads(encode(sent))["metadata"]["correlationId"] == str(sent.notification_id)
