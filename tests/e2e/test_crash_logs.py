"""Finding 7 of the hardening review: an unexpected error is one log line (type
and place) at ERROR, never a traceback with the statement and its parameters;
the traceback is written only at DEBUG."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import httpx
import pytest

from tests.support.processes import Server, clean_env

pytestmark = pytest.mark.slow
ADMIN = {"email": "crash@example.com", "password": "crash test password"}


def crash_once(server: Server) -> httpx.Response:
    """Make the server fail on a request: its table is gone under it."""
    login = httpx.post(f"{server.url}/auth/login", json=ADMIN).json()
    headers = {"Authorization": f"Bearer {login['accessToken']}"}
    with sqlite3.connect(server.cwd / "clarion.db") as db:
        db.execute("DROP TABLE sandbox_messages")
    return httpx.get(f"{server.url}/admin/sandbox/messages", headers=headers)


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_a_crash_is_one_line_without_sql_or_parameters(tmp_path: Path, level: str) -> None:
    env = clean_env(
        CLARION_ADMIN_EMAIL=ADMIN["email"],
        CLARION_ADMIN_PASSWORD=ADMIN["password"],
        CLARION_LOG_LEVEL=level,
    )
    server = Server(tmp_path, env).start()
    try:
        response = crash_once(server)
    finally:
        server.stop()
    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    assert "sandbox_messages" not in response.text

    lines = server.output.splitlines()
    crashes = [json.loads(line) for line in lines if "api.request.crashed" in line]
    assert len(crashes) == 1, server.output[-3000:]
    assert crashes[0]["level"] == "error"
    assert crashes[0]["error_type"] == "OperationalError"
    assert crashes[0]["path"] == "/admin/sandbox/messages"
    assert "no such table" not in server.output, "the error's text (its SQL) reached the log"
    assert "SELECT" not in server.output
    assert ("Traceback" in server.output or "crash_traceback" in server.output) == (
        level == "DEBUG"
    )
