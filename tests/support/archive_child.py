"""An archive pass in a process of its own that SIGKILLs itself at a chosen
moment: `python -m tests.support.archive_child SETTINGS_JSON MOMENT COUNT NOW`.

MOMENT is `written` (right after the COUNT-th data file is stored, before its
manifest) or `verified` (right after the COUNT-th file and manifest were read
back and checked, before the transaction that registers the file and deletes
its rows), or `any`: the process prints `writing` when its first file is
stored and waits for its parent's SIGKILL, which may then land anywhere. The
store is the real one; the wrapper only dies on cue."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from datetime import datetime
from typing import Any

from clarion.bootstrap import build_container
from clarion.config import Settings
from clarion.domain.archive import DATA_SUFFIX, MANIFEST_SUFFIX, Trigger
from clarion.ports_archive import ObjectStore


class DiesOnCue:
    def __init__(self, store: ObjectStore, moment: str, count: int) -> None:
        self._store = store
        self._moment = moment
        self._left = count
        self.location = store.location
        self._announced = False

    def _tick(self) -> None:
        self._left -= 1
        if self._left == 0:
            os.kill(os.getpid(), signal.SIGKILL)

    async def put(self, name: str, data: bytes) -> None:
        await self._store.put(name, data)
        if self._moment == "any" and not self._announced:
            self._announced = True
            print("writing", flush=True)
        if self._moment == "written" and name.endswith(DATA_SUFFIX):
            self._tick()

    async def get(self, name: str) -> bytes:
        data = await self._store.get(name)
        if self._moment == "verified" and name.endswith(MANIFEST_SUFFIX):
            self._tick()
        return data

    async def delete(self, names: list[str]) -> None:
        await self._store.delete(names)

    async def names(self) -> list[str]:
        return await self._store.names()


async def main(values: dict[str, Any], moment: str, count: int, now: datetime) -> None:
    container = build_container(Settings(_env_file=None, **values))  # type: ignore[call-arg]
    container.archive.store = DiesOnCue(container.archive.store, moment, count)
    try:
        await container.archive.run(Trigger.MANUAL, now=now)
    finally:
        await container.close()


if __name__ == "__main__":
    moment, count, now = sys.argv[2], int(sys.argv[3]), datetime.fromisoformat(sys.argv[4])
    asyncio.run(main(json.loads(sys.argv[1]), moment, count, now))
