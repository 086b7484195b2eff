"""How far the worker groups have got through their lanes, for the sweeper.

A row published and still unclaimed after the redelivery window is either
waiting in its lane behind other work or was lost (a broker that restarted
empty). Publishing it again in the first case only adds a copy every worker
must read past, and with a deep backlog and a short window the copies
outnumber the work. So the sweeper asks first.

Each look records the lanes' end offsets and when they were seen. A lane has
handled everything published before a moment once its group has committed,
on every partition, up to the end offsets seen at or before that moment.
(Kafka's offsets-for-times would answer directly, but Tansu answers it with
offset 0 for a time after its last message.) A partition whose end is now
lower than the one recorded was emptied (the broker restarted): what it held
is gone, and nothing there is waiting.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime

from confluent_kafka import Consumer, TopicPartition

from clarion.domain.enums import Priority
from clarion.domain.time import utcnow

Ends = dict[tuple[str, int], int]


class LaneProgress:
    def __init__(
        self,
        bootstrap_servers: str,
        groups: Mapping[str, Mapping[Priority, str]],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._servers = bootstrap_servers
        self._groups = groups
        self._clock = clock
        self._seen: deque[tuple[datetime, Ends]] = deque()

    def behind(self, before: datetime) -> set[Priority]:
        """Blocking (run it on a thread): the lanes that may still hold a
        message published before `before`. Until a look at least that old
        exists, every lane."""
        now = self._clock()
        lanes: set[Priority] = set()
        looks: list[tuple[dict[Priority, str], Ends, Ends]] = []
        ends_now: Ends = {}
        for group, topics in self._groups.items():
            ends, committed = self._look(group, topics.values())
            ends_now |= ends
            looks.append((dict(topics), ends, committed))
        self._seen.append((now, ends_now))
        then = self._ends_at(before)
        if then is None:
            return {lane for topics, _, _ in looks for lane in topics}
        for topics, ends, committed in looks:
            for lane, topic in topics.items():
                for key, end in ends.items():
                    if key[0] != topic or key not in then or end < then[key]:
                        continue  # new since, or emptied since: nothing old waits there
                    if committed[key] < then[key]:
                        lanes.add(lane)
                        break
        return lanes

    def _look(self, group: str, topics: Iterable[str]) -> tuple[Ends, Ends]:
        probe = Consumer(
            {"bootstrap.servers": self._servers, "group.id": group, "enable.auto.commit": False}
        )
        ends: Ends = {}
        done: Ends = {}
        try:
            for topic in topics:
                found = probe.list_topics(topic, timeout=5).topics.get(topic)
                if found is None or found.error is not None:
                    continue  # the broker lost the topic, and whatever it held
                partitions = [TopicPartition(topic, p) for p in sorted(found.partitions)]
                for tp in probe.committed(partitions, timeout=5):
                    low, high = probe.get_watermark_offsets(tp, timeout=5, cached=False)
                    ends[(topic, tp.partition)] = high
                    # nothing committed yet: the group starts from the earliest kept
                    done[(topic, tp.partition)] = tp.offset if tp.offset >= 0 else low
        finally:
            probe.close()
        return ends, done

    def _ends_at(self, before: datetime) -> Ends | None:
        """The latest look at or before `before`. The sweeper asks about later
        moments as time goes on, so the looks older than that one go."""
        while len(self._seen) > 1 and self._seen[1][0] <= before:
            self._seen.popleft()
        at, ends = self._seen[0]
        return ends if at <= before else None
