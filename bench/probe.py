"""The batch phase and the URGENT probe: notifications accepted over HTTP, then how
long they took to reach SENT, read from the database."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from deployments import Rows
from load import batch, notification, percentile


def now() -> datetime:
    return datetime.now(UTC)


def wait_finished(
    rows: Rows, since: datetime, priority: str | None = None, limit: float = 600
) -> None:
    """Until every row created since `since` is SENT or FAILED (`limit` seconds at most)."""
    deadline = time.monotonic() + limit
    while rows.unfinished(since, priority) and time.monotonic() < deadline:
        time.sleep(0.5)
    if left := rows.unfinished(since, priority):
        raise SystemExit(f"{left:,} notifications still not delivered after {limit:.0f} s")


def accept(http: httpx.Client, body: dict[str, Any]) -> None:
    response = http.post("/notifications/batch", json=body)
    created = response.json().get("created") if response.is_success else None
    if created != len(body["notifications"]):
        raise SystemExit(f"batch answered {response.status_code}: {response.text[:300]}")


@dataclass
class Round:
    """What one run of batches measured: accepted, then delivered end to end."""

    accepted: int
    accept_seconds: float
    waits: list[float]  # accept-to-SENT of each notification, seconds
    span: float  # first accepted to last SENT, seconds


def one_round(
    url: str,
    headers: dict[str, str],
    recipients: list[str],
    batches: int,
    rows: Rows,
    template: str | None = None,
) -> Round:
    """`batches` batches of 1,000, accepted back to back, then delivered end to end;
    rendered from `template` if one is named."""
    body = batch(recipients, template=template)
    since = now()
    started = time.perf_counter()
    with httpx.Client(base_url=url, timeout=120, headers=headers) as http:
        for _ in range(batches):
            accept(http, body)
    accept_seconds = time.perf_counter() - started
    wait_finished(rows, since)
    pairs = rows.times(since)
    return Round(
        accepted=batches * 1000,
        accept_seconds=accept_seconds,
        waits=[(sent - created).total_seconds() for created, sent in pairs],
        span=(max(s for _, s in pairs) - min(c for c, _ in pairs)).total_seconds(),
    )


def round_figures(rounds: list[Round], label: str) -> dict[str, float]:
    """Rounds taken together: totals over total times, percentiles over every wait."""
    tag = f", {label}" if label else ""
    waits = [w for r in rounds for w in r.waits]
    return {
        f"batch of 1,000{tag}: accepted (/s)": sum(r.accepted for r in rounds)
        / sum(r.accept_seconds for r in rounds),
        f"delivered end to end{tag} (/s)": len(waits) / sum(r.span for r in rounds),
        f"accept-to-SENT p50{tag} (ms)": percentile(waits, 0.50) * 1000,
        f"accept-to-SENT p99{tag} (ms)": percentile(waits, 0.99) * 1000,
    }


def delivery(
    url: str,
    headers: dict[str, str],
    recipients: list[str],
    batches: int,
    rows: Rows,
    label: str,
    template: str | None = None,
) -> dict[str, float]:
    return round_figures([one_round(url, headers, recipients, batches, rows, template)], label)


class UrgentProbe:
    """One URGENT notification every 100 ms, on a thread, until stopped."""

    def __init__(self, url: str, headers: dict[str, str], recipient: str) -> None:
        self.client = httpx.Client(base_url=url, timeout=30, headers=headers)
        self.body = notification(recipient, "URGENT")
        self.sent = 0
        self.refused: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="urgent-probe", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.client.close()

    def _run(self) -> None:
        due = time.monotonic()
        while not self._stop.wait(max(0.0, due - time.monotonic())):
            try:
                status = self.client.post("/notifications", json=self.body).status_code
            except httpx.HTTPError:
                status = 0  # no answer
            if status == 201:
                self.sent += 1
            else:
                self.refused.append(status)
            due += 0.1


def urgent_under_backlog(
    url: str, headers: dict[str, str], recipients: list[str], backlog: int, rows: Rows
) -> dict[str, float]:
    """Accept `backlog` LOW notifications in batches of 1,000; from the first batch on,
    POST one URGENT notification every 100 ms until the LOW backlog has drained."""
    body = batch(recipients, priority="LOW")
    since = now()
    probe = UrgentProbe(url, headers, recipients[0])
    with httpx.Client(base_url=url, timeout=120, headers=headers) as http:
        for number in range(0, backlog, 1000):
            size = min(1000, backlog - number)
            accept(http, body if size == 1000 else batch(recipients, size, "LOW"))
            if number == 0:
                probe.start()
    try:
        wait_finished(rows, since, "LOW", limit=600 + backlog / 100)
    finally:
        probe.stop()
    if probe.refused:
        print(f"  WARNING: {len(probe.refused)} URGENT probes refused: {probe.refused[:10]}")
    wait_finished(rows, since, "URGENT")
    low = rows.times(since, "LOW")
    urgent = [(sent - created).total_seconds() for created, sent in rows.times(since, "URGENT")]
    drained = (max(s for _, s in low) - min(c for c, _ in low)).total_seconds()
    return {
        "URGENT probes during the LOW backlog (count)": len(urgent),
        "URGENT accept-to-SENT p50 (ms)": percentile(urgent, 0.50) * 1000,
        "URGENT accept-to-SENT p99 (ms)": percentile(urgent, 0.99) * 1000,
        "URGENT probes refused (count)": len(probe.refused),
        "LOW backlog drained in (s)": drained,
        "LOW backlog delivered (/s)": len(low) / drained,
    }
