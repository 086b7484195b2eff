"""What the benchmark sends, and a small keep-alive HTTP/1.1 load generator on
asyncio streams: the fallback when `wrk` cannot be found or installed.

httpx spends more CPU per request than the servers being measured, and client
and server share two cores here, so the fallback drives them with this: one
connection per client, the same request over and over, responses read by
Content-Length. It speaks only what Clarion answers (no chunked bodies).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any


@dataclass
class LoadResult:
    requests_per_s: float
    p50: float  # seconds
    p99: float
    non_2xx: int
    socket_errors: int  # connect, read, write errors and time-outs


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def notification(user_id: str, priority: str = "MEDIUM") -> dict[str, Any]:
    return {
        "userId": user_id,
        "channel": "IN_APP",
        "type": "TRANSACTIONAL",
        "priority": priority,
        "payload": {"title": "Benchmark", "body": "Hello from the benchmark"},
    }


def templated(user_id: str, template: str, n: int) -> dict[str, Any]:
    """The same in-app notification, rendered from `template` (see TEMPLATE)."""
    return {
        "userId": user_id,
        "channel": "IN_APP",
        "type": "TRANSACTIONAL",
        "template": {"name": template},
        "variables": {"name": f"Recipient {n}", "count": n},
    }


# what a templated benchmark notification renders from: as long as the plain one
TEMPLATE = {
    "channel": "IN_APP",
    "variables": {
        "type": "object",
        "properties": {"name": {"type": "string"}, "count": {"type": "integer"}},
        "required": ["name", "count"],
    },
    "locales": {
        "en": {"title": "Benchmark", "body": "Hello {{ name }}, number {{ count }}"},
        "fr": {"title": "Banc d'essai", "body": "Bonjour {{ name }}, numéro {{ count }}"},
    },
}


def batch(
    recipients: list[str],
    size: int = 1000,
    priority: str = "MEDIUM",
    template: str | None = None,
) -> dict[str, Any]:
    """One batch request spread over several recipients, so that a Kafka topic keyed by
    recipient spreads it over its partitions (and so over the workers)."""
    people = [recipients[i % len(recipients)] for i in range(size)]
    if template is not None:
        return {"notifications": [templated(p, template, i) for i, p in enumerate(people)]}
    return {"notifications": [notification(person, priority) for person in people]}


def build_request(path: str, body: Any, headers: dict[str, str], port: int) -> bytes:
    payload = json.dumps(body).encode()
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Content-Type: application/json",
        f"Content-Length: {len(payload)}",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


async def read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def hammer(
    port: int,
    path: str,
    body: Any,
    headers: dict[str, str],
    seconds: float,
    connections: int,
) -> LoadResult:
    """`connections` clients sending the same POST for `seconds`."""
    request = build_request(path, body, headers, port)
    latencies: list[float] = []
    statuses: list[int] = []
    stop_at = time.monotonic() + seconds

    async def client() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.monotonic() < stop_at:
                started = time.perf_counter()
                writer.write(request)
                statuses.append(await read_response(reader))
                latencies.append(time.perf_counter() - started)
        finally:
            writer.close()

    outcomes = await asyncio.gather(*(client() for _ in range(connections)), return_exceptions=True)
    return LoadResult(
        requests_per_s=len(latencies) / seconds,
        p50=percentile(latencies, 0.50),
        p99=percentile(latencies, 0.99),
        non_2xx=sum(1 for status in statuses if not 200 <= status < 300),
        socket_errors=sum(1 for outcome in outcomes if isinstance(outcome, Exception)),
    )


def python_load(
    port: int, path: str, body: Any, headers: dict[str, str], seconds: float, connections: int
) -> LoadResult:
    return asyncio.run(hammer(port, path, body, headers, seconds, connections))
