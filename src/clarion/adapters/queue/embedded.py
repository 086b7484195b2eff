"""The embedded queue: in-process transport for `clarion serve`.

The database stays the source of truth; this queue only carries ids from the
API to the in-process worker, so it is always reachable while the process runs.
The consumer side arrives with the notification pipeline.
"""

from __future__ import annotations


class EmbeddedQueue:
    name = "queue"
    kind = "embedded"

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None
