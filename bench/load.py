"""A small keep-alive HTTP/1.1 load generator on asyncio streams.

httpx spends more CPU per request than the servers being measured, and client
and server share two cores here, so the benchmark drives them with this: one
connection per client, the same request over and over, responses read by
Content-Length. It speaks only what Clarion answers (no chunked bodies).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any


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
    concurrency: int,
) -> tuple[int, list[float]]:
    """Requests completed in `seconds` by `concurrency` clients, and their latencies."""
    request = build_request(path, body, headers, port)
    latencies: list[float] = []
    stop_at = time.monotonic() + seconds

    async def client() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.monotonic() < stop_at:
                started = time.perf_counter()
                writer.write(request)
                status = await read_response(reader)
                if status not in (200, 201):
                    raise SystemExit(f"{path} answered {status}")
                latencies.append(time.perf_counter() - started)
        finally:
            writer.close()

    await asyncio.gather(*(client() for _ in range(concurrency)))
    return len(latencies), latencies
