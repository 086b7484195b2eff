"""Prometheus metrics: one registry per process, or, where a server runs
several processes (`clarion api --workers N`), files shared through
`PROMETHEUS_MULTIPROC_DIR` that any of them aggregates when scraped.

No label ever carries a user id, an address or a notification id: labels are
route templates, methods, status classes, channels, priorities, statuses,
providers, topics, lanes and a short list of failure reasons.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
CONTENT_TYPE = CONTENT_TYPE_LATEST

# seconds: from a 1 ms request to a 10 s one
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
# seconds: from accepted to sent, up to a day of retries
DELIVERY_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 86400)

# golden signals
HTTP_DURATION = Histogram(
    "http_request_duration_seconds",
    "Time to answer an HTTP request, by route template, method and status class.",
    ["route", "method", "status_class"],
    buckets=LATENCY_BUCKETS,
)
HTTP_REQUESTS = Counter(
    "http_requests", "HTTP requests answered.", ["route", "method", "status_class"]
)
HTTP_ERRORS = Counter(
    "http_request_errors",
    "HTTP requests answered with a server error (5xx).",
    ["route", "method", "status_class"],
)

# the seed's business metrics
NOTIFICATIONS = Counter(
    "notifications",
    "Notifications reaching a status: PENDING and SCHEDULED when accepted, then "
    "SENT, FAILED, NOT_SENT, CANCELLED, or PENDING again for a retry.",
    ["channel", "priority", "status"],
)
FAILED = Counter("notifications_failed", "Notifications failed for good, by reason.", ["reason"])
PUBLISHED = Counter(
    "kafka_messages_published", "Queue messages handed to the queue, by topic.", ["topic"]
)
CONSUMED = Counter(
    "kafka_messages_consumed", "Queue messages taken by workers, by topic.", ["topic"]
)
CONSUMER_LAG = Gauge(
    "kafka_consumer_lag",
    "Messages waiting behind this process's consumers, by topic (the embedded queue: its depth).",
    ["topic"],
    multiprocess_mode="livesum",
)

# database
DB_DURATION = Histogram(
    "db_query_duration_seconds",
    "Time of one database statement, by its kind.",
    ["operation"],
    buckets=LATENCY_BUCKETS,
)
DB_CONNECTIONS = Gauge(
    "db_connections_active",
    "Database connections checked out of the pool.",
    multiprocess_mode="livesum",
)
DB_ERRORS = Counter("db_errors", "Database statements that raised.", ["operation"])

# cache
CACHE_HITS = Counter("cache_hits", "Cache reads that found the entry, by kind.", ["kind"])
CACHE_MISSES = Counter("cache_misses", "Cache reads that did not, by kind.", ["kind"])
CACHE_DURATION = Histogram(
    "cache_operation_duration_seconds",
    "Time of one cache operation.",
    ["operation"],
    buckets=LATENCY_BUCKETS,
)

# delivery
DELIVERY_LATENCY = Histogram(
    "notification_delivery_seconds",
    "From accepted to SENT (retries and schedules included).",
    ["channel", "priority"],
    buckets=DELIVERY_BUCKETS,
)
PROVIDER_DURATION = Histogram(
    "provider_request_duration_seconds",
    "Time of one send through a provider, by its outcome (sent, retry, permanent).",
    ["provider", "outcome"],
    buckets=LATENCY_BUCKETS,
)
PROVIDER_RATE_LIMITED = Counter(
    "provider_rate_limited",
    "Provider answers that asked to wait (Retry-After or a rate-limit reset).",
    ["provider"],
)
CIRCUIT_STATE = Gauge(
    "provider_circuit_state",
    "A provider's circuit in this process: 0 closed, 1 half open, 2 open.",
    ["provider"],
    multiprocess_mode="max",
)
DEAD_LETTERS = Gauge(
    "notifications_dead_letters",
    "FAILED notifications (the dead-letter queue), all time.",
    multiprocess_mode="mostrecent",
)
BACKLOG = Gauge(
    "notifications_backlog",
    "Notifications waiting, by status: PENDING (due or retrying) and SCHEDULED "
    "(for later, or deferred by quiet hours).",
    ["status"],
    multiprocess_mode="mostrecent",
)
OLDEST_PENDING = Gauge(
    "notifications_oldest_pending_seconds",
    "Age of the oldest PENDING notification (0 when none waits).",
    multiprocess_mode="mostrecent",
)

# each process's own figures, also where a server's processes share their
# metrics (a multi-process server has no `process_*` metrics): scraped, they add up
RSS = Gauge(
    "clarion_process_resident_memory_bytes",
    "Resident memory of the process (of all live ones, where a server shares metrics).",
    multiprocess_mode="livesum",
)
CPU = Gauge(
    "clarion_process_cpu_seconds",
    "CPU time of the process (of all live ones, where a server shares metrics).",
    multiprocess_mode="livesum",
)


_switch = {"on": True}


def recording() -> bool:
    """Whether this process records metrics (`CLARION_METRICS_ENABLED`): when
    off, every place that would count returns after this one check."""
    return _switch["on"]


def record(on: bool) -> None:
    _switch["on"] = on


def status_class(status: int) -> str:
    return f"{status // 100}xx"


class HttpSeries:
    """The labelled children of the HTTP metrics, kept: `labels()` costs a
    lookup and a lock on every call."""

    def __init__(self) -> None:
        self._children: dict[tuple[str, str, str], tuple[object, object, object | None]] = {}

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status_class(status))
        children = self._children.get(key)
        if children is None:
            children = (
                HTTP_DURATION.labels(*key),
                HTTP_REQUESTS.labels(*key),
                HTTP_ERRORS.labels(*key) if status >= 500 else None,
            )
            self._children[key] = children
        duration, requests, errors = children
        duration.observe(seconds)  # type: ignore[attr-defined]
        requests.inc()  # type: ignore[attr-defined]
        if errors is not None:
            errors.inc()  # type: ignore[attr-defined]


HTTP = HttpSeries()


def count_notifications(rows: Iterable[tuple[str, str, str]]) -> None:
    """(channel, priority, status) of each notification that reached a status."""
    if not _switch["on"]:
        return
    tally: dict[tuple[str, str, str], int] = {}
    for key in rows:
        tally[key] = tally.get(key, 0) + 1
    for key, n in tally.items():
        NOTIFICATIONS.labels(*key).inc(n)


def failure_reason(provider: str | None, permanent: bool) -> str:
    """A short, bounded reason, never the provider's free text: the template did
    not render, no address on file, the provider refused the message, or the
    retries ran out."""
    if provider == "template":
        return "template"
    if provider == "none":
        return "no_address"
    return "rejected" if permanent else "retries_exhausted"


_samplers: list[Callable[[], None]] = []


def sample_with(sampler: Callable[[], None]) -> None:
    """Run `sampler` whenever the process gauges are refreshed (at each scrape,
    and every few seconds where metrics are shared between processes)."""
    if sampler not in _samplers:
        _samplers.append(sampler)


def sample_process() -> None:
    """Refresh this process's memory and CPU gauges, and what samplers read."""
    for sampler in _samplers:
        sampler()
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
        RSS.set(pages * os.sysconf("SC_PAGE_SIZE"))
    except (OSError, ValueError):
        pass
    times = os.times()
    CPU.set(times.user + times.system)


def registry() -> CollectorRegistry:
    """This process's registry, or one that reads every process's files."""
    if not MULTIPROCESS:
        return REGISTRY
    shared = CollectorRegistry()
    MultiProcessCollector(shared)  # type: ignore[no-untyped-call]
    return shared


def exposition() -> bytes:
    """What `/metrics` answers."""
    sample_process()
    return generate_latest(registry())


def totals(sample: str, by: str) -> dict[str, float]:
    """A counter's samples summed by one label, read from the registry."""
    found: dict[str, float] = {}
    for family in registry().collect():
        for item in family.samples:
            if item.name == sample:
                key = item.labels.get(by, "")
                found[key] = found.get(key, 0.0) + item.value
    return found


def set_waiting(dead_letters: int, backlog: dict[str, int], oldest: float) -> None:
    DEAD_LETTERS.set(dead_letters)
    for status, n in backlog.items():
        BACKLOG.labels(status).set(n)
    OLDEST_PENDING.set(oldest)


def count_topics(counter: Counter, topics: Iterable[str]) -> None:
    """One increment per message, by topic."""
    if not _switch["on"]:
        return
    tally: dict[str, int] = {}
    for topic in topics:
        tally[topic] = tally.get(topic, 0) + 1
    for topic, n in tally.items():
        counter.labels(topic).inc(n)
