"""A publish to Kafka waits for every delivery report of its messages, and
fails with the first error reported, however the reports interleave with the
messages being handed over."""

import asyncio
import threading

import pytest
from confluent_kafka import KafkaError, KafkaException

from clarion.adapters.queue.kafka_wire import Deliveries


def report_from_another_thread(deliveries: Deliveries, error: KafkaError | None = None) -> None:
    thread = threading.Thread(target=deliveries.report, args=(error, None))
    thread.start()
    thread.join()


async def test_settles_only_once_sealed_and_every_report_is_in() -> None:
    deliveries = Deliveries(asyncio.get_running_loop())
    for _ in range(3):
        deliveries.expect()
    report_from_another_thread(deliveries)
    report_from_another_thread(deliveries)
    deliveries.seal()
    await asyncio.sleep(0.01)
    assert not deliveries.future.done()
    report_from_another_thread(deliveries)
    await asyncio.wait_for(deliveries.future, 1)


async def test_a_report_before_its_message_is_counted_does_not_settle_early() -> None:
    deliveries = Deliveries(asyncio.get_running_loop())
    report_from_another_thread(deliveries)  # the broker answered before expect()
    await asyncio.sleep(0.01)
    assert not deliveries.future.done()
    deliveries.expect()
    deliveries.expect()
    deliveries.seal()
    await asyncio.sleep(0.01)
    assert not deliveries.future.done()
    report_from_another_thread(deliveries)
    await asyncio.wait_for(deliveries.future, 1)


async def test_the_first_error_fails_the_publish_after_the_last_report() -> None:
    deliveries = Deliveries(asyncio.get_running_loop())
    deliveries.expect()
    deliveries.expect()
    deliveries.seal()
    report_from_another_thread(deliveries, KafkaError(KafkaError._MSG_TIMED_OUT))
    report_from_another_thread(deliveries)
    with pytest.raises(KafkaException) as raised:
        await asyncio.wait_for(deliveries.future, 1)
    assert raised.value.args[0].code() == KafkaError._MSG_TIMED_OUT


async def test_nothing_handed_over_settles_at_once() -> None:
    deliveries = Deliveries(asyncio.get_running_loop())
    deliveries.seal()
    await asyncio.wait_for(deliveries.future, 1)
