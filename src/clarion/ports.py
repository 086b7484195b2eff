"""The ports the services need. Adapters implement them; each has an embedded
adapter and a scaled-out one that pass the same contract tests."""

from __future__ import annotations

from typing import Protocol


class Component(Protocol):
    """Something readiness asks about: the database, the queue, the cache.

    `kind` names the adapter (`sqlite`, `postgresql`, `embedded`, `memory`,
    `redis`); `ping` returns when the component answers and raises otherwise.
    """

    name: str
    kind: str

    async def ping(self) -> None: ...


class Cache(Component, Protocol):
    """A byte-string cache with time-to-live and tags.

    Tags group keys so that one change can drop every cached view it affects
    (for example every cached page of one user's notifications).
    """

    async def get(self, key: str) -> bytes | None: ...

    async def set(
        self, key: str, value: bytes, ttl_seconds: float, tags: tuple[str, ...] = ()
    ) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def invalidate_tag(self, tag: str) -> None: ...

    async def close(self) -> None: ...
