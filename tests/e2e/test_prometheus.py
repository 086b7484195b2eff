"""A real Prometheus server scrapes Clarion, embedded and scaled out, and
finds `notifications_total` grown by exactly the number sent."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.processes import Server, admin_session, clean_env, free_port
from tests.support.prometheus import PrometheusServer
from tests.support.stacks import scaled_out

pytestmark = pytest.mark.slow
ADMIN = {"email": "scraped@example.com", "password": "prometheus test password"}
SENT = 'sum(notifications_total{status="SENT"})'
ACCEPTED = 'sum(notifications_total{status="PENDING"})'


def send_in_app(url: str, headers: dict[str, str], user_id: str, count: int) -> list[str]:
    body = {
        "userId": user_id,
        "channel": "IN_APP",
        "type": "ALERT",
        "payload": {"title": "Scraped", "body": "."},
    }
    ids = []
    for _ in range(count):
        response = httpx.post(f"{url}/notifications", headers=headers, json=body, timeout=10)
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


def wait_sent(url: str, headers: dict[str, str], ids: list[str], within: float = 60) -> None:
    deadline = time.monotonic() + within
    for nid in ids:
        while True:
            status = httpx.get(f"{url}/notifications/{nid}", headers=headers).json()["status"]
            if status == "SENT":
                break
            assert time.monotonic() < deadline, f"{nid} still {status}"
            time.sleep(0.1)


@pytest.fixture
def prometheus_dir(tmp_path: Path) -> Path:
    path = tmp_path / "prometheus"
    path.mkdir()
    return path


def measured_growth(prometheus: PrometheusServer, count: int, send: object) -> None:
    prometheus.wait_up()
    sent_before = prometheus.value(SENT) or 0.0
    accepted_before = prometheus.value(ACCEPTED) or 0.0
    assert callable(send)
    send()
    assert prometheus.wait_for(SENT, sent_before + count) == sent_before + count
    assert prometheus.wait_for(ACCEPTED, accepted_before + count) == accepted_before + count
    time.sleep(2.5)  # two more scrapes: nothing counted twice
    assert prometheus.value(SENT) == sent_before + count


def test_prometheus_scrapes_clarion_serve(tmp_path: Path, prometheus_dir: Path) -> None:
    env = clean_env(
        CLARION_ADMIN_EMAIL=ADMIN["email"],
        CLARION_ADMIN_PASSWORD=ADMIN["password"],
        CLARION_LOG_LEVEL="WARNING",
    )
    server = Server(tmp_path, env).start()
    prometheus = PrometheusServer(prometheus_dir, {"clarion": [f"127.0.0.1:{server.port}"]})
    try:
        prometheus.start()
        headers, admin_id = admin_session(server.url, ADMIN)

        def send() -> None:
            wait_sent(server.url, headers, send_in_app(server.url, headers, admin_id, 12))

        measured_growth(prometheus, 12, send)
        up = prometheus.value('sum(up{job="clarion"})')
        assert up == 1
        routes = prometheus.query('http_requests_total{route="/notifications",method="POST"}')
        assert routes, "the POSTs are counted by route"
    finally:
        prometheus.stop()
        server.stop()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[str, str, int]]:
    worker_metrics = free_port()
    with scaled_out(tmp_path, ADMIN, redis_db=12, CLARION_METRICS_PORT=str(worker_metrics)) as env:
        api_port = free_port()
        env.stack.start("api", "api", "--port", str(api_port), "--workers", "2")
        url = f"http://127.0.0.1:{api_port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health/readiness", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, env.stack.log("api")
            time.sleep(0.2)
        env.stack.start("worker", "worker")
        yield url, env.stack.log("api"), worker_metrics


def test_prometheus_scrapes_an_api_of_two_processes_and_a_worker(
    stack: tuple[str, str, int], prometheus_dir: Path
) -> None:
    url, _, worker_metrics = stack
    api = url.removeprefix("http://")
    prometheus = PrometheusServer(
        prometheus_dir, {"api": [api], "worker": [f"127.0.0.1:{worker_metrics}"]}
    )
    try:
        prometheus.start()
        headers, admin_id = admin_session(url, ADMIN)

        def send() -> None:
            wait_sent(url, headers, send_in_app(url, headers, admin_id, 20))

        measured_growth(prometheus, 20, send)
        # the two API processes answer for each other: every POST is counted
        posts = 'sum(http_requests_total{job="api",route="/notifications",method="POST"})'
        assert prometheus.value(posts) == 20
        consumed = 'sum(kafka_messages_consumed_total{job="worker"})'
        assert (prometheus.value(consumed) or 0) >= 20
    finally:
        prometheus.stop()
