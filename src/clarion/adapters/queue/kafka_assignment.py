"""Noticing a consumer that the group left with less than its share.

A broker that restarts empty (Tansu keeps its log in memory) forgets the
group and the topics. The group forms again as soon as the consumers
reconnect, usually before the topics are created again, and its leader
assigns what exists then: nothing, or the partitions of the one topic created
first. Tansu starts no rebalance when the missing topics appear, so such a
reader could wait for good while the lane it lacks fills up.

With the range assignor and as many partitions per topic as readers or more,
every reader holds some partitions of every topic it subscribed to. A reader
that lacks one of its topics for REJOIN_AFTER_SECONDS, while the broker
reports all of them (and did so REJOIN_AFTER_SECONDS before), joins the group
again as a new member, which makes the group rebalance with the topics as they
are now. It does so at most REJOINS times in a row: a reader given nothing for
good (more readers than partitions) stops asking.

It must be a new member. A reader whose consumer failed a commit right after
the restart joins again at once, with the topics its metadata still lists, and
the group's leader assigns from the broker's answer: no such topics, nothing
to assign. Tansu answers a later JoinGroup from that same member, with the
same topics, by handing back the group as it stands: the same generation and
the same empty assignment, however often it is asked. A fresh-clone run stalled
that way for minutes; a consumer closed and made anew gets a new member id,
and for a new member Tansu forms the group again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection

from confluent_kafka import Consumer, KafkaException, TopicPartition

from clarion.adapters.queue.kafka_wire import Rebalance
from clarion.observability.logging import get_logger

log = get_logger(__name__)

REJOIN_AFTER_SECONDS = 10.0
REJOINS = 6
LEAVE_WARNING_SECONDS = 120.0  # a close still under way this long is logged


class AssignmentWatch:
    def __init__(
        self, topics: Collection[str], name: str, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.topics = frozenset(topics)
        self._name = name
        self._clock = clock
        self._held: frozenset[str] = frozenset()
        self._since = clock()
        self._rejoins = 0
        self._rejoining = False  # asked for a rebalance, no assignment since
        self._all_seen = False  # the broker listed every topic at the last check

    def assigned(self, partitions: list[TopicPartition]) -> None:
        """The group's answer (the eager protocol hands over the whole assignment)."""
        self._held = frozenset(tp.topic for tp in partitions)
        self._since = self._clock()
        self._rejoining = False
        if self._held == self.topics:
            self._rejoins = 0
        log.info("queue.kafka.assigned", reader=self._name, partitions=len(partitions))

    def revoked(self, partitions: list[TopicPartition]) -> None:
        gone = {tp.topic for tp in partitions}
        self._held = frozenset(t for t in self._held if t not in gone)
        self._since = self._clock()

    def short(self) -> bool:
        """Cheap, for the event loop: has this reader lacked a topic long enough
        to ask the broker whether the topics exist?"""
        # A subscribe starts a rebalance of its own (a JoinGroup takes Tansu 3 s):
        # after asking, give it time to answer before asking again.
        patience = REJOIN_AFTER_SECONDS * (3 if self._rejoining else 1)
        return (
            self._held != self.topics
            and self._rejoins < REJOINS
            and self._clock() - self._since >= patience
        )

    def should_rejoin(self, consumer: Consumer) -> bool:
        """On the consumer's thread, after `short()`: True when every topic exists
        now, so that a new rebalance would hand this reader its share."""
        self._since = self._clock()  # ask again in REJOIN_AFTER_SECONDS at the soonest
        try:
            metadata = consumer.list_topics(timeout=2)
        except KafkaException:
            return False
        for topic in self.topics:
            found = metadata.topics.get(topic)
            if found is None or found.error is not None or not found.partitions:
                self._all_seen = False
                return False
        if not self._all_seen:
            # librdkafka joins again by itself once its metadata shows new topics,
            # and a consumer closed in the middle of that join may never finish
            # closing: leave it a turn (REJOIN_AFTER_SECONDS) to do so first
            self._all_seen = True
            return False
        self._all_seen = False
        self._rejoins += 1
        self._rejoining = True
        log.warning("queue.kafka.rejoined", reader=self._name, held=sorted(self._held))
        return True


class GroupMember:
    """What a lane reader and the retry relay share: their consumer, the watch
    on its assignment, and the partitions revoked since they last looked."""

    def __init__(self, topics: Collection[str], name: str) -> None:
        self._consumer: Consumer | None = None
        self._watch = AssignmentWatch(topics, name)
        self._revoked: set[tuple[str, int]] = set()

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        if consumer is self._consumer:  # not one replaced by a rejoin, leaving
            self._watch.assigned(partitions)

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # on the consumer's thread, inside poll(): forget what we no longer own
        if consumer is not self._consumer:
            return
        self._watch.revoked(partitions)
        self._revoked.update((tp.topic, tp.partition) for tp in partitions)


def rejoin_as_new_member(
    consumer: Consumer, on_revoke: Rebalance, make: Callable[[], Consumer], name: str
) -> Consumer:
    """On the consumer's thread: tell `on_revoke` what `consumer` held, then
    return a new consumer (so a new member id) in its place. Whatever the old
    one fetched and did not hand out is dropped by that revocation, and is read
    again from the last commit. The reader must ignore the old consumer's
    rebalance callbacks from now on: it may still make some while it leaves."""
    held = consumer.assignment()
    if held:
        on_revoke(consumer, held)
    leave_in_background(consumer, name)
    return make()


def leave_in_background(
    consumer: Consumer, name: str, *, warn_after: float = LEAVE_WARNING_SECONDS
) -> threading.Thread:
    """Close `consumer` (it leaves the group) on a thread of its own, without
    waiting. librdkafka's close waits for a rebalance under way to end, and in a
    test run one on Tansu never did: the reader's thread stayed stuck in it. A
    consumer whose close never ends leaves the group at its session timeout, but
    its thread and client stay until the process exits: a close still under way
    after `warn_after` seconds is logged once, so an operator sees the leak."""
    left = threading.Event()

    def leave() -> None:
        try:
            consumer.close()
        except (KafkaException, RuntimeError) as exc:
            log.warning("queue.kafka.leave_failed", reader=name, error=str(exc))
        finally:
            left.set()

    def watch() -> None:
        if not left.wait(warn_after):
            log.warning("queue.kafka.leave_stuck", reader=name, seconds=warn_after)

    leaving = threading.Thread(target=leave, name=f"kafka-{name}-leave", daemon=True)
    leaving.start()
    threading.Thread(target=watch, name=f"kafka-{name}-leave-watch", daemon=True).start()
    return leaving
