"""The Kafka queue: one topic per priority lane, consumer groups of workers.

Messages are pointers to database rows (the seed's NotificationMessage plus a
schema version); the row stays the source of truth. The producer is
idempotent with acks=all; a publish returns once the broker has every message.
A worker's consumers (kafka_reader: one for URGENT, one for the other lanes)
commit offsets by hand, only for messages acknowledged after their outcomes
were stored, so a worker that dies leaves its messages to the partition's
next owner. librdkafka calls block, so each client lives on a
thread of its own and the event loop only awaits it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from clarion.adapters.queue.kafka_answers import BrokerAnswers
from clarion.adapters.queue.kafka_progress import LaneProgress
from clarion.adapters.queue.kafka_reader import LaneReader, carry_over_offsets
from clarion.adapters.queue.kafka_relay import RetryRelay
from clarion.adapters.queue.kafka_wire import (
    MISSING_TOPIC,
    KafkaSettings,
    Receipt,
    encode,
    headers_of,
    partition_offsets,
)
from clarion.domain.delivery import QueueMessage
from clarion.domain.enums import Priority
from clarion.domain.notifications import LANES
from clarion.domain.time import utcnow
from clarion.observability.logging import get_logger
from clarion.observability.metrics import CONSUMED, PUBLISHED, count_topics, recording

log = get_logger(__name__)
LANE_SUFFIX = {
    Priority.URGENT: ".urgent",
    Priority.HIGH: ".high",
    Priority.MEDIUM: "",
    Priority.LOW: ".low",
}


class KafkaQueue:
    name = "queue"
    kind = "kafka"
    survives_restart = True  # the broker keeps what it accepted; publishes are confirmed

    def __init__(self, settings: KafkaSettings) -> None:
        self._settings = settings
        self.lane_topics = {lane: settings.topic_prefix + LANE_SUFFIX[lane] for lane in LANES}
        self.retry_topic = settings.topic_prefix + ".retry"
        self.dlq_topic = settings.topic_prefix + ".dlq"
        self._producer: Producer | None = None
        self._polling = threading.Event()
        self._poller: threading.Thread | None = None
        # URGENT has a consumer of its own, so it never waits behind prefetched LOW work
        urgent = {Priority.URGENT: self.lane_topics[Priority.URGENT]}
        others: dict[Priority, str] = {
            lane: t for lane, t in self.lane_topics.items() if lane is not Priority.URGENT
        }
        self._readers = (
            LaneReader(
                settings, settings.urgent_group_id, urgent, "urgent", settings.urgent_fetch_wait_ms
            ),
            LaneReader(settings, settings.group_id, others, "lanes"),
        )
        self._reader_of = {lane: r for r in self._readers for lane in r.topics}
        self._progress = LaneProgress(
            settings.bootstrap_servers, {r.group_id: r.topics for r in self._readers}
        )

    # -- set-up -----------------------------------------------------------------

    async def ensure_topics(self) -> None:
        """Create the lane, retry and dead-letter topics, the last two with their
        retention; existing topics are left as they are (an operator's later
        change of retention stands)."""
        settings = self._settings
        admin = AdminClient({"bootstrap.servers": settings.bootstrap_servers})
        retention = {
            self.retry_topic: settings.retry_retention_ms,
            self.dlq_topic: settings.dlq_retention_ms,
        }
        topics = [*self.lane_topics.values(), self.retry_topic, self.dlq_topic]
        futures = admin.create_topics(
            [
                NewTopic(
                    t,
                    settings.partitions,
                    settings.replication_factor,
                    config={"retention.ms": str(retention[t])} if t in retention else {},
                )
                for t in topics
            ]
        )
        for topic, future in futures.items():
            try:
                await asyncio.wrap_future(future)
            except KafkaException as exc:
                if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise
                log.debug("queue.kafka.topic_exists", topic=topic)

    async def adopt_urgent_offsets(self) -> None:
        """Before a worker first reads the URGENT lane in its own group, take over
        where the worker group left off there (see `carry_over_offsets`)."""
        topic = self.lane_topics[Priority.URGENT]
        settings = self._settings
        try:
            await asyncio.to_thread(
                carry_over_offsets, settings, topic, settings.group_id, settings.urgent_group_id
            )
        except KafkaException as exc:
            # not fatal: the lane is then read from its earliest retained offset,
            # and claims keep anything from being sent twice
            log.warning("queue.kafka.carry_over_failed", error=exc.args[0].name())

    async def ping(self) -> None:
        admin = AdminClient({"bootstrap.servers": self._settings.bootstrap_servers})
        await asyncio.to_thread(admin.list_topics, timeout=2)

    # -- producing ----------------------------------------------------------------

    def _producer_ready(self) -> Producer:
        if self._producer is None:
            self._producer = Producer(
                {
                    "bootstrap.servers": self._settings.bootstrap_servers,
                    "enable.idempotence": True,
                    "acks": "all",
                    "compression.type": self._settings.compression,
                    "linger.ms": 5,
                    "message.timeout.ms": 10000,
                    "topic.metadata.refresh.interval.ms": 5000,
                    # a missing topic is an error, never auto-created with defaults
                    "allow.auto.create.topics": False,
                }
            )
            self._polling.set()
            self._poller = threading.Thread(target=self._poll_producer, daemon=True)
            self._poller.start()
        return self._producer

    def _poll_producer(self) -> None:
        while self._polling.is_set() and self._producer is not None:
            self._producer.poll(0.1)

    async def publish(self, messages: Sequence[QueueMessage]) -> None:
        await self._produce([(self.lane_topics[m.priority], m) for m in messages])

    async def publish_dead_letters(self, messages: Sequence[QueueMessage]) -> None:
        await self._produce([(self.dlq_topic, m) for m in messages])

    async def publish_retries(self, messages: Sequence[QueueMessage]) -> None:
        await self._produce([(self.retry_topic, m) for m in messages])

    async def relay_retries(self, stop: asyncio.Event) -> None:
        """Forward retries to their lanes as they fall due, until `stop`."""
        await RetryRelay(self._settings, self.retry_topic, self.publish).run(stop)

    async def _produce(self, routed: Sequence[tuple[str, QueueMessage]]) -> None:
        if not routed:
            return
        producer = self._producer_ready()
        answers = BrokerAnswers(asyncio.get_running_loop(), len(routed))
        created_at = utcnow().isoformat()
        for topic, message in routed:
            while True:
                try:
                    producer.produce(
                        topic,
                        key=message.key.encode(),
                        value=encode(message, created_at),
                        headers=headers_of(message),
                        on_delivery=answers.delivered,
                    )
                    break
                except BufferError:  # the local queue is full: let deliveries drain
                    await asyncio.sleep(0.01)
        try:
            await answers.all
            count_topics(PUBLISHED, (topic for topic, _ in routed))
        except KafkaException as exc:
            error = exc.args[0]
            if error.fatal() or error.code() in MISSING_TOPIC | {KafkaError._MSG_TIMED_OUT}:
                # The broker lost its state (an in-memory broker restarted): its
                # topics are gone and an idempotent producer never recovers. Put
                # the topics back and start a new producer; the rows stay
                # unconfirmed and the sweeper publishes them again.
                log.warning("queue.kafka.producer_reset", error=error.name())
                self._reset_producer()
                with contextlib.suppress(KafkaException):
                    await self.ensure_topics()
            raise

    def _reset_producer(self) -> None:
        self._polling.clear()
        self._producer = None

    # -- consuming ----------------------------------------------------------------

    async def consume(
        self, max_messages: int, wait_seconds: float, lanes: Sequence[Priority] = LANES
    ) -> Sequence[QueueMessage]:
        """The most urgent lane's waiting messages first. Each reader of the lanes
        asked for is looked at without waiting, most urgent first; only when none
        has anything does the last one wait for the broker."""
        deadline = time.monotonic() + wait_seconds
        readers = [r for r in self._readers if any(lane in r.topics for lane in lanes)]
        while True:
            for reader in readers:
                reader.requeue_expired()
            for index, reader in enumerate(readers):
                if reader.buffered(lanes):
                    continue
                idle = index == len(readers) - 1 and not any(r.buffered(lanes) for r in readers)
                remaining = max(0.0, deadline - time.monotonic())
                await reader.fetch(min(remaining, 0.5) if idle else 0.0)
            taken = self._take(max_messages, lanes)
            if taken and recording():
                CONSUMED.labels(self.lane_topics[taken[0].priority]).inc(len(taken))
            if taken or time.monotonic() >= deadline:
                return taken

    def _take(self, max_messages: int, lanes: Sequence[Priority]) -> list[QueueMessage]:
        for lane in lanes:
            taken = self._reader_of[lane].take(lane, max_messages)
            if taken:
                return taken  # a batch never mixes lanes
        return []

    async def ack(self, messages: Sequence[QueueMessage]) -> None:
        by_reader: dict[LaneReader, list[Receipt]] = {}
        for message in messages:
            if message.receipt is not None:
                reader = self._reader_of[message.priority]
                by_reader.setdefault(reader, []).append(message.receipt)
        for reader, receipts in by_reader.items():
            await reader.ack(receipts)

    async def stats(self) -> dict[str, Any]:
        return await asyncio.to_thread(self._offsets)

    def _offsets(self) -> dict[str, Any]:
        """Committed offsets and the broker's end offsets, per partition, with lag
        as their difference: for each lane topic (the worker group, or for URGENT
        its own group) and for the retry topic (the relay group)."""
        lanes: dict[str, Any] = {}
        for lane, topic in self.lane_topics.items():
            group = self._reader_of[lane].group_id
            found = self._topic_offsets(group, topic)
            if found is not None:
                lanes[lane.value] = {"group": group, **found}
        return {
            "kind": self.kind,
            "group": self._settings.group_id,
            "lanes": lanes,
            "retry": {
                "group": self._settings.relay_group_id,
                **(self._topic_offsets(self._settings.relay_group_id, self.retry_topic) or {}),
            },
        }

    def _topic_offsets(self, group_id: str, topic: str) -> dict[str, Any] | None:
        found = partition_offsets(self._settings.bootstrap_servers, group_id, topic)
        if found is None:
            return None
        rows = [
            {
                "partition": p.partition,
                "committed": p.committed,
                "end": p.end,
                "lag": max(0, p.end - p.resumes),
            }
            for p in found
        ]
        return {"topic": topic, "lag": sum(r["lag"] for r in rows), "partitions": rows}

    async def behind(self, before: datetime) -> set[Priority]:
        try:
            return await asyncio.to_thread(self._progress.behind, before)
        except KafkaException as exc:
            log.warning("queue.kafka.lag_unknown", error=exc.args[0].name())
            return set(LANES)

    def depth(self) -> dict[str, int]:
        waiting: dict[Priority, int] = {}
        for reader in self._readers:
            waiting |= reader.depth()
        return {lane.value: waiting[lane] for lane in LANES}

    async def close(self) -> None:
        self._polling.clear()
        if self._producer is not None:
            await asyncio.to_thread(self._producer.flush, 10)
            self._producer = None
        for reader in self._readers:
            await reader.close()
