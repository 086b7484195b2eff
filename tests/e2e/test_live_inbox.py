"""The live inbox across processes: an SSE client connected to one `clarion
api` receives an in-app notification created through another, delivered by a
`clarion worker`, through Redis pub/sub."""

import json
import queue
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.processes import admin_session
from tests.support.stacks import scaled_out

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
ADMIN = {"email": "ops@example.com", "password": "live inbox test password"}


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[str, str]]:
    with scaled_out(tmp_path, ADMIN, redis_db=12, CLARION_KAFKA_PARTITIONS="3") as env:
        env.stack.start("worker", "worker")
        yield env.stack.start_api("api-one"), env.stack.start_api("api-two")


class StreamReader:
    """Reads an SSE stream on a thread; each `data:` line arrives with its time."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.events: queue.Queue[tuple[float, dict[str, object]]] = queue.Queue()
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(url, headers), daemon=True)
        self._thread.start()

    def _read(self, url: str, headers: dict[str, str]) -> None:
        with (
            httpx.Client(timeout=httpx.Timeout(5, read=None)) as client,
            client.stream("GET", url, headers=headers) as response,
        ):
            for line in response.iter_lines():
                if self._stop.is_set():
                    return
                if line.startswith(": connected"):
                    self.connected.set()
                elif line.startswith("data: "):
                    self.events.put((time.monotonic(), json.loads(line[6:])))

    def next_event(self, timeout: float) -> tuple[float, dict[str, object]]:
        return self.events.get(timeout=timeout)

    def close(self) -> None:
        self._stop.set()


def send_in_app(url: str, admin: dict[str, str], user_id: str, title: str) -> tuple[float, str]:
    started = time.monotonic()
    created = httpx.post(
        f"{url}/notifications",
        headers=admin,
        json={
            "userId": user_id,
            "channel": "IN_APP",
            "type": "ALERT",
            "priority": "HIGH",
            "payload": {"title": title, "body": "live"},
        },
    )
    assert created.status_code == 201, created.text
    return started, created.json()["id"]


def test_a_stream_on_one_api_receives_what_another_api_accepted(
    stack: tuple[str, str],
) -> None:
    one, two = stack
    admin, admin_id = admin_session(one, ADMIN)
    reader = StreamReader(f"{one}/users/me/inbox/stream", admin)
    try:
        assert reader.connected.wait(10), "the stream did not open"
        # the first one waits for the worker to join its consumer group
        _, first = send_in_app(two, admin, admin_id, "warm-up")
        _, event = reader.next_event(timeout=60)
        assert event["id"] == first
        delays = []
        for n in range(5):
            sent_at, nid = send_in_app(two, admin, admin_id, f"live {n}")
            arrived_at, event = reader.next_event(timeout=10)
            assert (event["id"], event["title"]) == (nid, f"live {n}")
            delays.append(arrived_at - sent_at)
    finally:
        reader.close()
    print(
        "\nPOST on api-two to SSE event on api-one, seconds:",
        [round(d, 3) for d in delays],
        "median",
        round(statistics.median(delays), 3),
    )
    assert max(delays) < 1.0  # the requirement: within one second
    inbox = httpx.get(f"{one}/users/me/inbox", headers=admin).json()
    assert inbox["unread"] == 6
