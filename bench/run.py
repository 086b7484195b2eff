"""Clarion's benchmark: prints what it measured, with a bare FastAPI endpoint
measured in the same run as the ceiling to compare against.

    .venv/bin/python bench/run.py [--seconds 10] [--concurrency 32] [--batches 20]

Phases, each against a fresh `clarion serve` (embedded: SQLite, in-process
queue, sandbox) with rate limits off:
  1. bare FastAPI endpoint, single POSTs           -> requests/s (ceiling)
  2. POST /notifications, single                    -> requests/s
  3. POST /notifications/batch, 1,000 per request   -> notifications accepted/s
  4. the batches of phase 3 delivered to the sandbox -> delivered/s end to end,
     and accept-to-SENT latency p50/p95/p99 read from the database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from load import hammer

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ADMIN = {"email": "bench@example.com", "password": "benchmark password"}


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_ready(url: str, process: subprocess.Popen[bytes], path: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited: {process.returncode}")
        try:
            if httpx.get(url + path, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit("server did not start")


def start_bare(port: int) -> subprocess.Popen[bytes]:
    command = [
        str(BIN / "uvicorn"),
        "bare_app:app",
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    return subprocess.Popen(command, cwd=ROOT / "bench")


def start_clarion(port: int, workdir: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLARION_")}
    env.update(
        CLARION_RATE_LIMIT_ENABLED="false",
        CLARION_ADMIN_EMAIL=ADMIN["email"],
        CLARION_ADMIN_PASSWORD=ADMIN["password"],
        CLARION_LOG_LEVEL="WARNING",
    )
    command = [str(BIN / "clarion"), "serve", "--port", str(port)]
    return subprocess.Popen(command, cwd=workdir, env=env, stdout=subprocess.DEVNULL)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def notification(user_id: str) -> dict[str, Any]:
    return {
        "userId": user_id,
        "channel": "IN_APP",
        "type": "TRANSACTIONAL",
        "payload": {"title": "Benchmark", "body": "Hello from the benchmark"},
    }


def delivery_figures(database: Path, total: int) -> dict[str, float]:
    deadline = time.monotonic() + 600
    with sqlite3.connect(database, timeout=30) as connection:
        while time.monotonic() < deadline:
            sent = connection.execute(
                "SELECT count(*) FROM notifications WHERE status = 'SENT'"
            ).fetchone()[0]
            if sent >= total:
                break
            time.sleep(0.5)
        rows = connection.execute(
            "SELECT created_at, sent_at FROM notifications WHERE status = 'SENT'"
        ).fetchall()
    created = [datetime.fromisoformat(c) for c, _ in rows]
    sent_at = [datetime.fromisoformat(s) for _, s in rows]
    waits = [(s - c).total_seconds() for c, s in zip(created, sent_at, strict=True)]
    span = (max(sent_at) - min(created)).total_seconds()
    return {
        "delivered": len(rows),
        "delivered_per_s": len(rows) / span,
        "p50": percentile(waits, 0.50),
        "p95": percentile(waits, 0.95),
        "p99": percentile(waits, 0.99),
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--batches", type=int, default=20)
    args = parser.parse_args()
    results: dict[str, str] = {}

    port = free_port()
    bare = start_bare(port)
    try:
        wait_ready(f"http://127.0.0.1:{port}", bare, "/docs")
        count, lat = await hammer(
            port, "/notifications", notification("x"), {}, args.seconds, args.concurrency
        )
    finally:
        bare.terminate()
        bare.wait()
    ceiling = count / args.seconds
    results["bare FastAPI endpoint, single POST"] = (
        f"{ceiling:,.0f} req/s (p50 {percentile(lat, 0.5) * 1000:.1f} ms)"
    )

    workdir = Path(tempfile.mkdtemp(prefix="clarion-bench-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_clarion(port, workdir)
    try:
        wait_ready(url, server, "/health/readiness")
        token = httpx.post(f"{url}/auth/login", json=ADMIN).json()["accessToken"]
        headers = {"Authorization": f"Bearer {token}"}
        me = httpx.get(f"{url}/auth/me", headers=headers).json()["id"]

        count, lat = await hammer(
            port, "/notifications", notification(me), headers, args.seconds, args.concurrency
        )
        single = count / args.seconds
        results["Clarion POST /notifications, single"] = (
            f"{single:,.0f} req/s (p50 {percentile(lat, 0.5) * 1000:.1f} ms), "
            f"{single / ceiling:.0%} of the ceiling"
        )
        while httpx.get(f"{url}/admin/metrics", headers=headers).json()["queue"]["MEDIUM"]:
            time.sleep(0.2)  # let the single POSTs drain before timing the batches
        time.sleep(1)
        with sqlite3.connect(workdir / "clarion.db") as connection:
            connection.execute("DELETE FROM events")
            connection.execute("DELETE FROM sandbox_messages")
            connection.execute("DELETE FROM notifications")

        batch = {"notifications": [notification(me)] * 1000}
        started = time.perf_counter()
        async with httpx.AsyncClient(timeout=120, headers=headers) as http:
            for _ in range(args.batches):
                response = await http.post(f"{url}/notifications/batch", json=batch)
                assert response.json()["created"] == 1000
        accepted = args.batches * 1000 / (time.perf_counter() - started)
        results["Clarion POST /notifications/batch (1,000 each)"] = (
            f"{accepted:,.0f} notifications accepted/s"
        )
        figures = delivery_figures(workdir / "clarion.db", args.batches * 1000)
        results["Clarion delivered end to end to the sandbox"] = (
            f"{figures['delivered_per_s']:,.0f} notifications/s "
            f"({figures['delivered']:,.0f} delivered)"
        )
        results["accept-to-SENT latency"] = (
            f"p50 {figures['p50'] * 1000:,.0f} ms, p95 {figures['p95'] * 1000:,.0f} ms, "
            f"p99 {figures['p99'] * 1000:,.0f} ms"
        )
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(workdir, ignore_errors=True)

    print("\nClarion benchmark, embedded mode (SQLite, in-process queue, sandbox)")
    print(
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(
        f"load: {args.concurrency} concurrent clients for {args.seconds:.0f} s per phase, "
        f"{args.batches} batches of 1,000; client and server share the machine\n"
    )
    width = max(len(k) for k in results)
    for name, value in results.items():
        print(f"{name:<{width}}  {value}")
    print("\nscaled-out mode (PostgreSQL, Kafka, Redis): not measured yet (no Kafka adapter)")


if __name__ == "__main__":
    asyncio.run(main())
