"""`clarion serve`'s output: uvicorn's lines, the access line and the worker's
line are all JSON, and one request's correlation id runs through them."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.processes import Server, clean_env

pytestmark = pytest.mark.slow
ADMIN = {"email": "logs@example.com", "password": "logs test password"}
BANNER = ("Clarion ", "  API docs:", "  Readiness:", "  Admin:")


def serve(workdir: Path, sample_rate: str) -> Server:
    env = clean_env(
        CLARION_ADMIN_EMAIL=ADMIN["email"],
        CLARION_ADMIN_PASSWORD=ADMIN["password"],
        CLARION_LOG_SAMPLE_RATE=sample_rate,
    )
    return Server(workdir, env).start()


def send_one(server: Server, correlation_id: str) -> dict[str, Any]:
    token = httpx.post(f"{server.url}/auth/login", json=ADMIN).json()["accessToken"]
    headers = {"Authorization": f"Bearer {token}"}
    me = httpx.get(f"{server.url}/auth/me", headers=headers).json()
    created = httpx.post(
        f"{server.url}/notifications",
        headers={**headers, "X-Correlation-ID": correlation_id},
        json={
            "userId": me["id"],
            "channel": "EMAIL",
            "type": "ALERT",
            "payload": {"subject": "s", "body": "b", "to": "x@example.com"},
        },
    )
    assert created.status_code == 201, created.text
    assert created.headers["X-Correlation-ID"] == correlation_id
    deadline = time.monotonic() + 10
    while True:
        found: dict[str, Any] = httpx.get(
            f"{server.url}/notifications/{created.json()['id']}", headers=headers
        ).json()
        if found["status"] == "SENT" or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def json_lines(output: str) -> list[dict[str, Any]]:
    """Every line but the console banner, each of which must be a JSON object."""
    return [json.loads(line) for line in output.splitlines() if not line.startswith(BANNER)]


def test_every_log_line_is_json_and_the_request_can_be_followed(tmp_path: Path) -> None:
    server = serve(tmp_path, "1")
    try:
        sent = send_one(server, "followed-1")
    finally:
        server.stop()
    assert sent["status"] == "SENT"
    assert sent["metadata"] == {"correlationId": "followed-1"}

    lines = json_lines(server.output)
    uvicorn = [line["event"] for line in lines if line.get("logger") == "uvicorn.error"]
    assert "Application startup complete." in uvicorn
    assert "Application shutdown complete." in uvicorn

    followed = [line for line in lines if line.get("correlation_id") == "followed-1"]
    [access] = [line for line in followed if line["event"] == "http.request"]
    assert (access["method"], access["path"], access["status"]) == ("POST", "/notifications", 201)
    assert access["duration_ms"] > 0
    [delivered] = [line for line in followed if line["event"] == "delivery.sent"]
    assert delivered["notification_id"] == sent["id"]


def test_at_rate_zero_a_refused_request_writes_nothing_and_start_up_is_kept(
    tmp_path: Path,
) -> None:
    server = serve(tmp_path, "0")
    try:
        answers = [httpx.get(f"{server.url}/auth/me") for _ in range(5)]
    finally:
        server.stop()
    assert {a.status_code for a in answers} == {401}
    lines = json_lines(server.output)
    ids = {a.headers["X-Correlation-ID"] for a in answers}
    assert not [line for line in lines if line.get("correlation_id") in ids]
    # start-up and shutdown lines are outside any request: kept
    assert "Application startup complete." in [line["event"] for line in lines]
