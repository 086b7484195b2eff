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
from collections.abc import Callable, Mapping
from datetime import datetime

from clarion.adapters.queue.kafka_wire import partition_offsets
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
        self._group_of = {topic: g for g, topics in groups.items() for topic in topics.values()}
        self._lane_of = {
            topic: lane for topics in groups.values() for lane, topic in topics.items()
        }
        self._clock = clock
        self._seen: deque[tuple[datetime, Ends]] = deque()

    def behind(self, before: datetime) -> set[Priority]:
        """Blocking (run it on a thread): the lanes that may still hold a
        message published before `before`. Until a look at least that old
        exists, every lane."""
        now = self._clock()
        ends: Ends = {}
        resumes: Ends = {}
        for topic, group in self._group_of.items():
            for p in partition_offsets(self._servers, group, topic) or []:
                ends[(topic, p.partition)] = p.end
                resumes[(topic, p.partition)] = p.resumes
        self._seen.append((now, ends))
        then = self._ends_at(before)
        if then is None:
            return set(self._lane_of.values())
        # a partition new since then, or emptied since (its end went down), holds nothing older
        return {
            self._lane_of[key[0]]
            for key, end in ends.items()
            if key in then and end >= then[key] and resumes[key] < then[key]
        }

    def _ends_at(self, before: datetime) -> Ends | None:
        """The latest look at or before `before`. The sweeper asks about later
        moments as time goes on, so the looks older than that one go."""
        while len(self._seen) > 1 and self._seen[1][0] <= before:
            self._seen.popleft()
        at, ends = self._seen[0]
        return ends if at <= before else None
