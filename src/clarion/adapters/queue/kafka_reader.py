"""One Kafka consumer of the worker group, for some of the lanes: the messages
it fetched and has not handed out, those handed out and not yet acknowledged,
and the offsets not yet safe to commit. librdkafka's consumer is not
thread-safe and its calls block, so each reader makes every call on a thread
of its own and the event loop only awaits it.

A worker has two: one for the URGENT lane alone and one for the others. A
consumer prefetches from all its partitions into one local queue, so with one
consumer for every lane an URGENT message waited behind every LOW message
already fetched; with a consumer of its own it waits behind none.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor

from confluent_kafka import Consumer, KafkaException, Message, TopicPartition

from clarion.adapters.queue.kafka_assignment import GroupMember, rejoin_as_new_member
from clarion.adapters.queue.kafka_wire import (
    KafkaSettings,
    OffsetBook,
    Receipt,
    fetch_available,
    new_consumer,
    readable,
)
from clarion.domain.delivery import QueueMessage
from clarion.domain.enums import Priority
from clarion.observability.logging import get_logger

log = get_logger(__name__)


class LaneReader(GroupMember):
    def __init__(
        self,
        settings: KafkaSettings,
        group_id: str,
        topics: dict[Priority, str],
        name: str,
        fetch_wait_ms: int | None = None,
    ) -> None:
        super().__init__(topics.values(), name)
        self._settings = settings
        self.group_id = group_id
        self._fetch_wait_ms = fetch_wait_ms
        self.topics = topics
        self._name = name
        self._thread = ThreadPoolExecutor(1, thread_name_prefix=f"kafka-{name}")
        self._waiting = {lane: deque[QueueMessage]() for lane in topics}
        self._book = OffsetBook()
        self._in_flight: dict[Receipt, tuple[QueueMessage, float]] = {}
        self._fetching: asyncio.Future[list[Message]] | None = None

    # -- fetching -------------------------------------------------------------------

    def _consumer_ready(self) -> Consumer:
        if self._consumer is None:
            self._consumer = self._new_consumer()
        return self._consumer

    def _new_consumer(self) -> Consumer:
        return new_consumer(
            self._settings,
            self.group_id,
            list(self.topics.values()),
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            fetch_wait_ms=self._fetch_wait_ms,
        )

    def buffered(self, lanes: Collection[Priority]) -> bool:
        return any(self._waiting[lane] for lane in lanes if lane in self._waiting)

    async def fetch(self, wait_seconds: float) -> None:
        """Buffer what the broker has sent, waiting up to `wait_seconds` for the
        first message. A fetch already under way is joined rather than queued
        behind; with no wait, it is left to finish on its own."""
        if self._fetching is None:
            loop = asyncio.get_running_loop()
            if self._watch.short():
                await loop.run_in_executor(self._thread, self._rejoin_if_stuck)
            if self._fetching is not None:  # another caller started one meanwhile
                await asyncio.shield(self._fetching)
                return
            self._fetching = loop.run_in_executor(
                self._thread, fetch_available, self._consumer_ready(), wait_seconds
            )
            # buffers on the loop even if whoever started the fetch is cancelled:
            # a message fetched and never held could be committed past
            self._fetching.add_done_callback(self._fetched)
        elif wait_seconds <= 0 or self._fetching.done():
            # Awaiting a finished future does not yield, and its messages are
            # buffered by a callback that only runs once the loop turns: a
            # consumer that never yielded here would spin without end.
            await asyncio.sleep(0)
            return
        await asyncio.shield(self._fetching)

    def _rejoin_if_stuck(self) -> None:
        """On this reader's thread: join the group again as a new member when it
        left this reader short of a topic that exists (see kafka_assignment)."""
        consumer = self._consumer_ready()
        # Asked again: two callers may each have seen the reader short before either
        # got this thread. A second new member, made while the first is still
        # joining, leaves Tansu waiting minutes for the first to join.
        if self._watch.short() and self._watch.should_rejoin(consumer):
            self._consumer = rejoin_as_new_member(
                consumer, self._on_revoke, self._new_consumer, self._name
            )

    def _fetched(self, future: asyncio.Future[list[Message]]) -> None:
        self._fetching = None
        if future.cancelled() or future.exception() is not None:
            return  # raised to whoever awaits it; nothing was handed over
        for message, receipt in readable(future.result()):
            self._revoked.discard(receipt[:2])
            self._book.hold(receipt)
            self._waiting[message.priority].append(message)
        if self._revoked:
            self._drop_revoked()

    def _drop_revoked(self) -> None:
        for lane, messages in self._waiting.items():
            self._waiting[lane] = deque(
                m for m in messages if m.receipt and m.receipt[:2] not in self._revoked
            )
        self._book.forget(self._revoked)

    # -- handing out and acknowledging -------------------------------------------------

    def take(self, lane: Priority, max_messages: int) -> list[QueueMessage]:
        messages = self._waiting.get(lane)
        taken: list[QueueMessage] = []
        if not messages:
            return taken
        expires = time.monotonic() + self._settings.visibility_timeout
        while messages and len(taken) < max_messages:
            message = messages.popleft()
            if message.receipt is not None:
                self._in_flight[message.receipt] = (message, expires)
            taken.append(message)
        return taken

    def requeue_expired(self) -> None:
        now = time.monotonic()
        for receipt, (message, deadline) in list(self._in_flight.items()):
            if deadline <= now:
                del self._in_flight[receipt]
                self._waiting[message.priority].appendleft(message)

    async def ack(self, receipts: list[Receipt]) -> None:
        """Commit, per partition, up to the first offset still outstanding."""
        for receipt in receipts:
            self._in_flight.pop(receipt, None)
        commits = self._book.finish(receipts)
        if commits:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._thread, self._commit, commits)

    def _commit(self, offsets: list[TopicPartition]) -> None:
        try:
            self._consumer_ready().commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            # a partition moved to another worker: it will redeliver, claims dedupe
            log.warning("queue.kafka.commit_failed", error=exc.args[0].name())

    def depth(self) -> dict[Priority, int]:
        return {lane: len(messages) for lane, messages in self._waiting.items()}

    async def close(self) -> None:
        if self._consumer is not None:
            consumer = self._consumer
            self._consumer = None
            await asyncio.get_running_loop().run_in_executor(self._thread, consumer.close)
        self._thread.shutdown(wait=False)


def carry_over_offsets(settings: KafkaSettings, topic: str, old_group: str, new_group: str) -> int:
    """Start `new_group` on `topic` where `old_group` left off, if it has no
    offsets of its own yet; returns the partitions carried over. The URGENT
    lane was read by the worker group before it had a group of its own: without
    this, the first start after an upgrade would read the whole topic again."""
    config = {"bootstrap.servers": settings.bootstrap_servers, "enable.auto.commit": False}
    new = Consumer({**config, "group.id": new_group})
    try:
        found = new.list_topics(topic, timeout=5).topics.get(topic)
        if found is None or found.error is not None:
            return 0
        partitions = [TopicPartition(topic, p) for p in sorted(found.partitions)]
        if any(tp.offset >= 0 for tp in new.committed(partitions, timeout=5)):
            return 0
        old = Consumer({**config, "group.id": old_group})
        try:
            done = [tp for tp in old.committed(partitions, timeout=5) if tp.offset >= 0]
        finally:
            old.close()
        if done:
            new.commit(offsets=done, asynchronous=False)
            log.info("queue.kafka.offsets_carried_over", topic=topic, partitions=len(done))
        return len(done)
    finally:
        new.close()
