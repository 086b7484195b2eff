"""The broker's answers to one publish, counted where librdkafka gives them.

librdkafka answers each message on the thread that polls the producer. Waking
the event loop for every answer (a future and a thread-safe call per message)
cost a batch of 1,000 as much as encoding it; here the answers are counted on
that thread and the loop is woken once: when the last one has arrived, or at
the first failure, which fails the whole publish as before.
"""

from __future__ import annotations

import asyncio
import threading

from confluent_kafka import KafkaError, KafkaException, Message


class BrokerAnswers:
    def __init__(self, loop: asyncio.AbstractEventLoop, expected: int) -> None:
        self._loop = loop
        self._left = expected
        self._failed = False
        self._lock = threading.Lock()  # librdkafka may answer from a flush as well as a poll
        self.all: asyncio.Future[None] = loop.create_future()

    def delivered(self, error: KafkaError | None, _message: Message) -> None:
        """On the polling thread: one message's answer."""
        with self._lock:
            if self._failed:
                return
            if error is not None:
                self._failed = True
                outcome: KafkaException | None = KafkaException(error)
            else:
                self._left -= 1
                if self._left:
                    return
                outcome = None
        self._loop.call_soon_threadsafe(self._settle, outcome)

    def _settle(self, error: KafkaException | None) -> None:
        if self.all.done():  # the publisher gave up waiting (cancelled)
            return
        if error is None:
            self.all.set_result(None)
        else:
            self.all.set_exception(error)
