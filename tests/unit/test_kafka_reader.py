"""A Kafka reader's fetches, without a broker: the case that once hung a worker.

A fetch finishes on the reader's thread; its messages are taken in by a
callback that runs on the next turn of the event loop. A consumer that asked
for another fetch before that turn used to await the finished future, which
does not yield, and loop: the callback never ran, and the worker stopped
polling Kafka for good (its partitions were never handed back after a
rebalance).
"""

import asyncio

from clarion.adapters.queue.kafka_reader import LaneReader
from clarion.adapters.queue.kafka_wire import KafkaSettings
from clarion.domain.enums import Priority


async def test_a_fetch_asked_for_while_one_is_being_taken_in_lets_it_finish() -> None:
    reader = LaneReader(KafkaSettings("127.0.0.1:1"), "g", {Priority.URGENT: "t"}, "test")
    finished: asyncio.Future[list[object]] = asyncio.get_running_loop().create_future()
    reader._fetching = finished  # type: ignore[assignment]
    finished.add_done_callback(reader._fetched)  # type: ignore[arg-type]
    finished.set_result([])  # done; its callback is scheduled, not yet run
    # awaited directly, as a consumer does (a task of its own would yield)
    await reader.fetch(0.5)
    assert reader._fetching is None  # taken in: the next fetch asks the broker again
    await reader.close()
