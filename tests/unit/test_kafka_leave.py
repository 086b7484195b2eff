"""A replaced Kafka consumer leaves on a thread of its own; a close that never
ends is logged once, so the thread and client it keeps are not a silent leak."""

import threading
import time
from typing import cast

from confluent_kafka import Consumer

from clarion.adapters.queue.kafka_assignment import leave_in_background
from tests.support.logs import json_logs


class ClosingConsumer:
    """Stands in for librdkafka's consumer: its close returns once `done` is set."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.closed = False

    def close(self) -> None:
        self.done.wait(10)
        self.closed = True


def test_a_close_still_under_way_is_logged_once_and_the_caller_never_waits() -> None:
    stuck = ClosingConsumer()
    with json_logs(1.0) as lines:
        started = time.monotonic()
        leaving = leave_in_background(cast(Consumer, stuck), "lanes", warn_after=0.2)
        assert time.monotonic() - started < 0.1
        time.sleep(0.6)
        warned = lines.events("queue.kafka.leave_stuck")
        stuck.done.set()
        leaving.join(5)
    assert stuck.closed
    assert [(w["reader"], w["seconds"], w["level"]) for w in warned] == [("lanes", 0.2, "warning")]


def test_a_close_that_ends_in_time_logs_nothing() -> None:
    quick = ClosingConsumer()
    quick.done.set()
    with json_logs(1.0) as lines:
        leave_in_background(cast(Consumer, quick), "retries", warn_after=0.2).join(5)
        time.sleep(0.4)
        assert quick.closed
        assert lines.events("queue.kafka.leave_stuck") == []
