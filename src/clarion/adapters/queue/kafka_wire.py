"""What the Kafka queue and its retry relay share: settings, the message
body, consumers, and the book of offsets not yet safe to commit."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

import orjson
from confluent_kafka import Consumer, KafkaError, Message, TopicPartition

from clarion.domain.delivery import QueueMessage
from clarion.domain.enums import Channel, Priority
from clarion.domain.time import utcnow
from clarion.observability.logging import get_logger

log = get_logger(__name__)

SCHEMA_VERSION = 1
# what a broker that lost its topics answers (an in-memory broker restarted)
MISSING_TOPIC = {
    KafkaError.UNKNOWN_TOPIC_OR_PART,
    KafkaError._UNKNOWN_TOPIC,
    KafkaError._UNKNOWN_PARTITION,
}
Rebalance = Callable[[Consumer, list[TopicPartition]], None]


@dataclass(frozen=True)
class KafkaSettings:
    bootstrap_servers: str
    group_id: str = "notification-workers"
    topic_prefix: str = "notifications"
    partitions: int = 10
    replication_factor: int = 1
    compression: str = "gzip"
    session_timeout_ms: int = 6000
    visibility_timeout: float = 300.0
    # How long the broker may hold a fetch that finds nothing new. Kafka answers
    # as soon as data arrives, but a broker may not (Tansu waits the whole time),
    # so this bounds how late a message reaches an idle consumer. The other
    # lanes keep librdkafka's default: a bench run with 100 ms there drained
    # the LOW backlog at 160/s instead of 2,500/s, for reasons not found.
    fetch_wait_ms: int = 500
    urgent_fetch_wait_ms: int = 20
    # the seed's retention for retries and dead letters; the lanes keep the broker's
    retry_retention_ms: int = 7 * 86_400_000
    dlq_retention_ms: int = 30 * 86_400_000

    @property
    def relay_group_id(self) -> str:
        return self.group_id + ".retry-relay"

    @property
    def urgent_group_id(self) -> str:
        """The URGENT lane's consumers: a group of their own, so neither group's
        rebalances hold up the other."""
        return self.group_id + ".urgent"


TRACEPARENT = "traceparent"


def encode(message: QueueMessage, created_at: str | None = None) -> bytes:
    """The message's body as the seed lays it out. `created_at` (ISO 8601) is the
    moment the whole batch was handed to the broker; it is read here if not given."""
    body = {
        "schemaVersion": SCHEMA_VERSION,
        "id": str(message.notification_id),
        "userId": str(message.user_id),
        "channel": message.channel.value,
        "priority": message.priority.value,
        "scheduledFor": message.due_at.isoformat() if message.due_at else None,
        "metadata": {
            # the accepting request's id; messages of a notification accepted before
            # correlation ids were kept carry its own id, as every message once did
            "correlationId": message.correlation_id or str(message.notification_id),
            "attempt": message.attempt,
            "createdAt": created_at or utcnow().isoformat(),
        },
    }
    return orjson.dumps(body)


def headers_of(message: QueueMessage) -> list[tuple[str, str | bytes | None]] | None:
    """The message's Kafka headers: its trace context, when it carries one."""
    if message.traceparent is None:
        return None
    return [(TRACEPARENT, message.traceparent.encode())]


def traceparent_of(raw: Message) -> str | None:
    found = raw.headers()
    pairs = found.items() if isinstance(found, dict) else (found or ())
    for name, value in pairs:
        if name == TRACEPARENT and isinstance(value, bytes):
            return value.decode("ascii", errors="replace")
    return None


def decode(raw: Message) -> QueueMessage:
    body = orjson.loads(raw.value() or b"{}")
    key = raw.key()
    due = body.get("scheduledFor")
    correlation = body["metadata"].get("correlationId")
    return QueueMessage(
        notification_id=uuid.UUID(body["id"]),
        user_id=uuid.UUID(body["userId"]),
        channel=Channel(body["channel"]),
        priority=Priority(body["priority"]),
        attempt=int(body["metadata"]["attempt"]),
        key=key.decode() if isinstance(key, bytes) else str(key or ""),
        receipt=(str(raw.topic()), int(raw.partition() or 0), int(raw.offset() or 0)),
        due_at=datetime.fromisoformat(due) if due else None,
        correlation_id=correlation if isinstance(correlation, str) else None,
        traceparent=traceparent_of(raw),
    )


def new_consumer(
    settings: KafkaSettings,
    group_id: str,
    topics: list[str],
    *,
    on_assign: Rebalance,
    on_revoke: Rebalance,
    fetch_wait_ms: int | None = None,
) -> Consumer:
    consumer = Consumer(
        {
            "bootstrap.servers": settings.bootstrap_servers,
            "group.id": group_id,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": settings.session_timeout_ms,
            "heartbeat.interval.ms": 1000,
            "max.poll.interval.ms": 300000,
            "fetch.wait.max.ms": fetch_wait_ms or settings.fetch_wait_ms,
            # notice soon when topics vanish and come back (a broker restart)
            "topic.metadata.refresh.interval.ms": 5000,
        }
    )
    consumer.subscribe(topics, on_assign=on_assign, on_revoke=on_revoke, on_lost=on_revoke)
    return consumer


Receipt = tuple[str, int, int]


def readable(fetched: list[Message]) -> list[tuple[QueueMessage, Receipt]]:
    """The messages of a fetch that are ours to handle. Errors and bodies that
    do not decode are logged and skipped; commits move past them."""
    messages: list[tuple[QueueMessage, Receipt]] = []
    for raw in fetched:
        error = raw.error()
        if error is not None:
            if error.code() != KafkaError._PARTITION_EOF:
                log.warning("queue.kafka.consume_error", error=error.name())
            continue
        try:
            message = decode(raw)
        except (ValueError, KeyError, TypeError):
            log.warning("queue.kafka.undecodable", topic=raw.topic(), offset=raw.offset())
            continue
        if message.receipt is not None:
            messages.append((message, message.receipt))
    return messages


def fetch_available(consumer: Consumer, wait_seconds: float, most: int = 2000) -> list[Message]:
    """Wait up to `wait_seconds` for one message, then take whatever else has
    already arrived. (`consume(n, t)` alone would hold a first message back
    until n arrived or t ran out: up to t of latency on a quiet topic.)"""
    first = consumer.poll(wait_seconds)
    if first is None:
        return []
    fetched = [first]
    while len(fetched) < most:
        batch = consumer.consume(min(500, most - len(fetched)), 0)
        if not batch:
            break
        fetched += batch
    return fetched


class OffsetBook:
    """Offsets handed out but not yet finished, per partition. A commit goes up
    to the first unfinished offset, never past it: whatever follows a slow
    message is redelivered if this process dies, never skipped."""

    def __init__(self) -> None:
        self._open: dict[tuple[str, int], set[int]] = {}
        # the highest offset ever finished, per partition: messages finish out of
        # order (retries by due time), and a commit must not fall behind them
        self._highest: dict[tuple[str, int], int] = {}

    def hold(self, receipt: tuple[str, int, int]) -> None:
        topic, partition, offset = receipt
        self._open.setdefault((topic, partition), set()).add(offset)

    def forget(self, partitions: Iterable[tuple[str, int]]) -> None:
        for key in partitions:
            self._open.pop(key, None)
            self._highest.pop(key, None)

    def finish(self, receipts: Iterable[tuple[str, int, int]]) -> list[TopicPartition]:
        """Mark offsets finished; returns the commits they make safe."""
        touched: set[tuple[str, int]] = set()
        for topic, partition, offset in receipts:
            key = (topic, partition)
            held = self._open.get(key)
            if held is None:
                continue  # the partition moved away: its new owner redelivers
            held.discard(offset)
            self._highest[key] = max(offset, self._highest.get(key, -1))
            touched.add(key)
        return [TopicPartition(*key, self._safe(key)) for key in touched]

    def _safe(self, key: tuple[str, int]) -> int:
        """The first offset not yet finished: everything before it is done."""
        held = self._open[key]
        return min(held) if held else self._highest[key] + 1


@dataclass(frozen=True)
class PartitionOffsets:
    partition: int
    committed: int  # negative when the group has committed nothing here
    resumes: int  # where the group reads next: what it committed, else the earliest kept
    end: int


def partition_offsets(servers: str, group_id: str, topic: str) -> list[PartitionOffsets] | None:
    """Blocking: `group_id`'s committed offsets on `topic` beside the broker's
    end offsets, per partition; None when the broker has no such topic."""
    probe = Consumer(
        {"bootstrap.servers": servers, "group.id": group_id, "enable.auto.commit": False}
    )
    try:
        found = probe.list_topics(topic, timeout=5).topics.get(topic)
        if found is None or found.error is not None:
            return None
        partitions = [TopicPartition(topic, p) for p in sorted(found.partitions)]
        rows = []
        for tp in probe.committed(partitions, timeout=5):
            low, high = probe.get_watermark_offsets(tp, timeout=5, cached=False)
            resumes = tp.offset if tp.offset >= 0 else low
            rows.append(PartitionOffsets(tp.partition, tp.offset, resumes, high))
        return rows
    finally:
        probe.close()
