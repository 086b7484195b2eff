"""What metrics and tracing cost: `clarion serve` measured with metrics off,
with metrics on and tracing off (the default), and with tracing exporting every
span over OTLP to a sink in this process.

    .venv/bin/python bench/observability.py [--seconds 5] [--batches 10] [--rounds 2]

Each configuration runs `--rounds` times, in mirrored order (off, on, traced,
traced, on, off, ...), so a slow spell of the machine does not fall on one of
them only. Each run: single POSTs from wrk at 32 connections for `--seconds`,
then `--batches` batches of 1,000 plain notifications delivered to the
sandbox. The table gives each configuration's mean and its ratio to metrics off.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from statistics import mean

from deployments import embedded
from load import notification
from probe import delivery, now, wait_finished
from report import number
from run import create_recipients, sign_in
from wrk import pick_load

CONNECTIONS = 32


class Sink(ThreadingHTTPServer):
    """An OTLP/HTTP receiver that takes every export and keeps only its size."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), SinkHandler)
        self.received = 0


class SinkHandler(BaseHTTPRequestHandler):
    server: Sink

    def do_POST(self) -> None:
        self.server.received += len(self.rfile.read(int(self.headers.get("content-length", 0))))
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *_: object) -> None:
        return None


def configurations(sink: Sink) -> dict[str, dict[str, str]]:
    endpoint = f"http://127.0.0.1:{sink.server_address[1]}"
    return {
        "metrics off": {"CLARION_METRICS_ENABLED": "false"},
        "metrics on, tracing off": {},
        "metrics on, tracing to OTLP": {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint},
    }


def one_run(env: dict[str, str], args: argparse.Namespace) -> dict[str, float]:
    _, load = pick_load()
    with embedded(env_extra=env) as deployment:
        url, rows = deployment.url, deployment.rows
        headers, me = sign_in(url)
        recipients = create_recipients(url, headers)
        since = now()
        result = load(
            deployment.port, "/notifications", notification(me), headers, args.seconds, CONNECTIONS
        )
        wait_finished(rows, since)
        delivered = delivery(url, headers, recipients, args.batches, rows, "")
    rate = next(v for k, v in delivered.items() if k.startswith("delivered"))
    return {
        "single POST, 32 connections (req/s)": result.requests_per_s,
        "single POST p99 (ms)": result.p99 * 1000,
        "delivered end to end (/s)": rate,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    for name in [k for k in os.environ if k.startswith("OTEL_")]:
        del os.environ[name]  # only the traced configuration exports
    sink = Sink()
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    chosen = configurations(sink)
    order = list(chosen)
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in order}
    for round_number in range(args.rounds):
        for name in order if round_number % 2 == 0 else reversed(order):
            print(f"  {name} ...", flush=True)
            figures = one_run(chosen[name], args)
            for label, value in figures.items():
                print(f"    {label}: {number(value)}", flush=True)
            runs[name].append(figures)
    sink.shutdown()
    labels = list(runs[order[0]][0])
    baseline = {label: mean(r[label] for r in runs[order[0]]) for label in labels}
    print(f"\nmeans of {args.rounds} runs each (OTLP sink received {sink.received:,} bytes)")
    print(f"  {'':<36}" + "".join(f"{name:>30}" for name in order))
    for label in labels:
        cells = []
        for name in order:
            value = mean(r[label] for r in runs[name])
            ratio = value / baseline[label] if baseline[label] else 0.0
            cells.append(f"{number(value)} ({ratio:.0%})")
        print(f"  {label:<36}" + "".join(f"{cell:>30}" for cell in cells))


if __name__ == "__main__":
    sys.exit(main())
