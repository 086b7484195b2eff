"""Exporting many stored notifications: rows per second, and how much the
serving process grows while it streams them.

    .venv/bin/python bench/export.py [--stored 1000000] [--format ndjson|csv]

A fresh `clarion serve` (SQLite) with `--stored` sent notifications written in
SQL before it starts (as `bench/run.py --stored`). After one small warm-up
export, the whole table is exported once; serve's resident memory is sampled
every 0.2 s. The growth printed is the peak during the export less the
resident size just before it."""

from __future__ import annotations

import argparse
import sys
import time

import httpx
from deployments import ADMIN, embedded
from report import number
from rss import PeakRss, rss_kb


def export(url: str, token: str, fmt: str, **params: str) -> tuple[int, int]:
    """Lines and bytes received."""
    lines = size = 0
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.stream(
        "GET",
        f"{url}/data-pipeline/export/notifications",
        headers=headers,
        params={"format": fmt, **params},
        timeout=600,
    ) as response:
        response.raise_for_status()
        for chunk in response.iter_bytes():
            lines += chunk.count(b"\n")
            size += len(chunk)
    return lines, size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stored", type=int, default=1_000_000)
    parser.add_argument("--format", choices=["ndjson", "csv"], default="ndjson")
    args = parser.parse_args()
    print(f"export of {args.stored:,} stored notifications as {args.format}")
    with embedded(stored=args.stored) as deployment:
        token = httpx.post(f"{deployment.url}/auth/login", json=ADMIN).json()["accessToken"]
        pid = deployment.processes["serve"].pid
        export(deployment.url, token, args.format, **{"from": "2100-01-01T00:00:00Z"})
        before = rss_kb(pid) or 0
        started = time.perf_counter()
        with PeakRss({"serve": pid}, interval=0.2) as peak:
            lines, size = export(deployment.url, token, args.format)
        seconds = time.perf_counter() - started
        peak_kb = max(peak.peaks_kb.values())
    header = 1 if args.format == "csv" else 0
    for label, value in (
        ("rows", lines - header),
        ("seconds", seconds),
        ("rows/s", (lines - header) / seconds),
        ("MB sent", size / 1e6),
        ("RSS before (MB)", before / 1024),
        ("RSS peak (MB)", peak_kb / 1024),
        ("RSS growth (MB)", (peak_kb - before) / 1024),
    ):
        print(f"  {label:<18}{number(value):>12}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
