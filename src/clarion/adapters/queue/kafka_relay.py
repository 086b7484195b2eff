"""The retry relay: reads `notifications.retry`, holds each message until its
due time, then forwards it to its priority lane.

It runs in `clarion scheduler` (any number of them: the retry topic's
partitions are shared out in a consumer group of their own). Offsets are
committed only up to the first message not yet forwarded, so a relay that
dies loses nothing: the next owner of the partition forwards what was left,
and a message forwarded twice is harmless because a worker's claim admits
one delivery per attempt and none before the row's due time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from confluent_kafka import Consumer, KafkaException, Message, TopicPartition

from clarion.adapters.queue.due import DueHeap
from clarion.adapters.queue.kafka_assignment import GroupMember, rejoin_as_new_member
from clarion.adapters.queue.kafka_wire import (
    KafkaSettings,
    OffsetBook,
    fetch_available,
    new_consumer,
    readable,
)
from clarion.domain.delivery import QueueMessage
from clarion.observability.logging import get_logger

log = get_logger(__name__)
Forward = Callable[[Sequence[QueueMessage]], Awaitable[None]]


class RetryRelay(GroupMember):
    def __init__(self, settings: KafkaSettings, topic: str, forward: Forward) -> None:
        super().__init__([topic], "retry-relay")
        self._settings = settings
        self._topic = topic
        self._forward = forward
        self._held = DueHeap()
        self._book = OffsetBook()
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="kafka-retry-relay")

    async def run(self, stop: asyncio.Event) -> None:
        reading = asyncio.create_task(self._read(stop))
        try:
            while not stop.is_set():
                due = await self._held.wait_due(stop)
                if due:
                    await self._pass_on(due)
        finally:
            await reading
            await self._close()

    async def _read(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            try:
                fetched = await loop.run_in_executor(self._thread, self._fetch)
            except Exception as exc:
                # never let reading stop while the forwarding loop waits for more
                log.warning("queue.retry_relay.fetch_failed", error=type(exc).__name__)
                await asyncio.sleep(1.0)
                continue
            self._hold(fetched)

    def _fetch(self) -> list[Message]:
        if self._consumer is None:
            self._consumer = self._new_consumer()
        elif self._watch.short() and self._watch.should_rejoin(self._consumer):
            # the group left this relay nothing after a broker restart (see kafka_assignment)
            self._consumer = rejoin_as_new_member(
                self._consumer, self._on_revoke, self._new_consumer, "retry-relay"
            )
        # a long poll on the broker: the thread sleeps until messages arrive
        return fetch_available(self._consumer, 0.5)

    def _new_consumer(self) -> Consumer:
        return new_consumer(
            self._settings,
            self._settings.relay_group_id,
            [self._topic],
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
        )

    def _hold(self, fetched: list[Message]) -> None:
        for message, receipt in readable(fetched):
            self._revoked.discard(receipt[:2])
            self._book.hold(receipt)
            self._held.push(message)
        if self._revoked:
            gone = set(self._revoked)
            self._held.keep(lambda m: m.receipt is not None and m.receipt[:2] not in gone)
            self._book.forget(gone)
            self._revoked.clear()

    async def _pass_on(self, due: list[QueueMessage]) -> None:
        try:
            await self._forward(due)
        except KafkaException as exc:
            # not forwarded, not committed: hold them again and try shortly
            log.warning("queue.retry_relay.forward_failed", error=exc.args[0].name())
            for message in due:
                self._held.push(message)
            await asyncio.sleep(1.0)
            return
        commits = self._book.finish(m.receipt for m in due if m.receipt is not None)
        if commits:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._thread, self._commit, commits)

    def _commit(self, offsets: list[TopicPartition]) -> None:
        if self._consumer is None:
            return
        try:
            self._consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            log.warning("queue.retry_relay.commit_failed", error=exc.args[0].name())

    async def _close(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            with contextlib.suppress(KafkaException):
                await asyncio.get_running_loop().run_in_executor(self._thread, consumer.close)
        self._thread.shutdown(wait=False)
