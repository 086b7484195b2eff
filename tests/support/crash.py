"""Helpers for the crash tests: kill `clarion serve` mid-flight and read what the
database kept, without going through the API that was killed."""

from __future__ import annotations

import asyncio
import itertools
import signal
import sqlite3
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.processes import Server

# A send repeated after a crash is counted on the sandbox's row, not recorded twice.
DUPLICATE_COUNTS = {
    "sent_twice": "SELECT count(*) FROM sandbox_messages WHERE duplicates > 0",
    "repeats": "SELECT coalesce(sum(duplicates), 0) FROM sandbox_messages",
}


def sigkill(server: Server) -> None:
    """SIGKILL `serve` and check it is gone: nothing answers on its port any more,
    so what the database holds afterwards is all it will ever hold from that run."""
    code = server.stop(signal.SIGKILL)
    assert code == -signal.SIGKILL, f"serve exited with {code}, not by SIGKILL"
    try:
        httpx.get(f"{server.url}/health/readiness", timeout=1)
    except httpx.TransportError:
        return
    raise AssertionError(f"something still answers at {server.url} after the SIGKILL")


def sqlite_rows(database: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(database) as connection:
        return connection.execute(sql).fetchall()


def hex_ids(ids: set[str]) -> set[str]:
    """The API's ids as SQLite stores them (32 hex digits, no dashes)."""
    return {uuid.UUID(nid).hex for nid in ids}


@dataclass
class Burst:
    """What the clients of one burst saw."""

    answered: set[str] = field(default_factory=set)  # ids answered 201
    cut_off: int = 0  # requests the server never answered: it died first
    other_statuses: Counter[int] = field(default_factory=Counter)
    started: int = 0
    seconds_to_kill: float = 0.0


async def post_until_killed(
    url: str,
    headers: dict[str, str],
    body: Callable[[int], dict[str, Any]],
    *,
    clients: int,
    kill_after: float,
    kill: Callable[[], None],
) -> Burst:
    """`clients` keep-alive connections POST one notification after another; the
    first 201 read after `kill_after` seconds calls `kill` at once, while the
    other clients' requests are still in flight. A 201 read after the kill still
    counts as answered (the server wrote it before it died)."""
    burst = Burst()
    numbers = itertools.count()
    killed = False
    # Built before the clock starts: each client loads its TLS context, which
    # blocks the loop for tens of milliseconds.
    connections = [
        httpx.AsyncClient(
            base_url=url,
            headers=headers,
            timeout=60,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        )
        for _ in range(clients)
    ]
    started_at = time.monotonic()

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal killed
        async with http:
            while not killed:
                burst.started += 1
                try:
                    response = await http.post("/notifications", json=body(next(numbers)))
                except httpx.TransportError:
                    if not killed:
                        raise
                    burst.cut_off += 1
                    return
                if response.status_code != 201:
                    burst.other_statuses[response.status_code] += 1
                    continue
                burst.answered.add(str(response.json()["id"]))
                if not killed and time.monotonic() - started_at >= kill_after:
                    killed = True
                    burst.seconds_to_kill = time.monotonic() - started_at
                    kill()

    await asyncio.gather(*(client(http) for http in connections))
    return burst
