"""`clarion serve` as a new user runs it: a fresh directory, no configuration."""

import re
import signal
from pathlib import Path

import httpx
import pytest

from tests.support.processes import Server, clean_env, run_clarion

pytestmark = pytest.mark.slow


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


def admin_from_console(output: str) -> tuple[str, str]:
    email = re.search(r"email:\s+(\S+)", output)
    password = re.search(r"password:\s+(\S+)", output)
    assert email is not None, output
    assert password is not None, output
    return email.group(1), password.group(1)


def test_a_fresh_serve_is_ready_shows_the_admin_login_and_keeps_data(workdir: Path) -> None:
    server = Server(workdir).start()
    try:
        ready = httpx.get(f"{server.url}/health/readiness").json()
        assert set(ready["components"]) == {"database", "queue", "cache"}
        assert ready["components"]["database"]["kind"] == "sqlite"
        assert httpx.get(f"{server.url}/docs").status_code == 200

        email, password = admin_from_console(server.read_output())
        login = httpx.post(f"{server.url}/auth/login", json={"email": email, "password": password})
        assert login.status_code == 200
        admin = {"Authorization": f"Bearer {login.json()['accessToken']}"}
        assert httpx.get(f"{server.url}/auth/me", headers=admin).json()["role"] == "ADMIN"

        user = {"email": "kept@example.com", "password": "survives restarts", "name": "Kept"}
        # registration is closed by default: anyone is refused, an admin opens the account
        assert httpx.post(f"{server.url}/auth/register", json=user).status_code == 403
        created = httpx.post(f"{server.url}/admin/users", headers=admin, json=user)
        assert created.status_code == 201
        key = httpx.post(
            f"{server.url}/admin/api-keys",
            headers=admin,
            json={"name": "svc", "scopes": ["notifications:write"]},
        ).json()["key"]
    finally:
        assert server.stop() in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in server.output

    assert (workdir / "clarion.db").exists()
    server.start()
    try:
        again = httpx.post(
            f"{server.url}/auth/login",
            json={"email": user["email"], "password": user["password"]},
        )
        assert again.status_code == 200
        # the signing secret was kept too: a token from before the restart still works
        assert httpx.get(f"{server.url}/auth/me", headers=admin).status_code == 200
        assert httpx.get(f"{server.url}/auth/me", headers={"X-API-Key": key}).status_code == 200
        assert "password:" not in server.read_output()  # no second admin is made
    finally:
        server.stop()


def test_logs_hold_no_password_hash_or_token(workdir: Path) -> None:
    env = clean_env(
        CLARION_ADMIN_EMAIL="ops@example.com",
        CLARION_ADMIN_PASSWORD="admin password from env",
        CLARION_LOG_LEVEL="DEBUG",
        CLARION_LOG_SAMPLE_RATE="1",  # every line, to look for secrets in
        CLARION_REGISTRATION="open",
    )
    server = Server(workdir, env).start()
    secrets: list[str] = ["admin password from env", "user password 123"]
    try:
        body = {"email": "u@example.com", "password": "user password 123", "name": "U"}
        assert httpx.post(f"{server.url}/auth/register", json=body).status_code == 201
        tokens = httpx.post(
            f"{server.url}/auth/login", json={"email": body["email"], "password": body["password"]}
        ).json()
        bad = httpx.post(
            f"{server.url}/auth/login",
            json={"email": body["email"], "password": "wrong guess 987"},
        )
        assert bad.status_code == 401
        rotated = httpx.post(
            f"{server.url}/auth/refresh", json={"refreshToken": tokens["refreshToken"]}
        ).json()
        replayed = httpx.post(
            f"{server.url}/auth/refresh", json={"refreshToken": tokens["refreshToken"]}
        )
        assert replayed.status_code == 401
        secrets += ["wrong guess 987", tokens["accessToken"], tokens["refreshToken"]]
        secrets += [rotated["accessToken"], rotated["refreshToken"]]
    finally:
        server.stop()

    hashes = read_password_hashes(workdir / "clarion.db")
    assert len(hashes) == 2
    output = server.output
    for event in ("auth.user.registered", "auth.login.succeeded", "auth.login.failed"):
        assert event in output
    assert "auth.refresh.replayed" in output
    for secret in [*secrets, *hashes, "$argon2"]:
        assert secret not in output


def read_password_hashes(database: Path) -> list[str]:
    import sqlite3

    with sqlite3.connect(database) as connection:
        return [row[0] for row in connection.execute("SELECT password FROM users")]


def test_admin_from_environment_and_create_admin(workdir: Path) -> None:
    assert run_clarion("migrate", cwd=workdir).returncode == 0
    made = run_clarion(
        "create-admin", "--email", "Root@Example.com", "--password", "a long password", cwd=workdir
    )
    assert made.returncode == 0, made.stderr
    again = run_clarion(
        "create-admin", "--email", "root@example.com", "--password", "a long password", cwd=workdir
    )
    assert again.returncode == 1
    assert "already exists" in again.stderr

    server = Server(workdir).start()
    try:
        login = httpx.post(
            f"{server.url}/auth/login",
            json={"email": "root@example.com", "password": "a long password"},
        )
        assert login.status_code == 200
        assert "password:" not in server.read_output()  # an admin existed: none generated
    finally:
        server.stop()


def test_a_bad_setting_stops_serve_naming_the_variable(workdir: Path) -> None:
    result = run_clarion("serve", cwd=workdir, env=clean_env(CLARION_PORT="eighty"))
    assert result.returncode == 2
    assert "CLARION_PORT" in result.stderr
    assert not (workdir / "clarion.db").exists()


def test_the_separate_processes_need_a_shared_queue(workdir: Path) -> None:
    for command in ("api", "worker", "scheduler"):
        result = run_clarion(command, cwd=workdir)
        assert result.returncode == 2, command
        assert "CLARION_KAFKA_BOOTSTRAP_SERVERS" in result.stderr
        assert "clarion serve" in result.stderr


def test_api_refuses_an_unmigrated_database(workdir: Path) -> None:
    env = clean_env(CLARION_KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:9")
    result = run_clarion("api", cwd=workdir, env=env)
    assert result.returncode == 2
    assert "clarion migrate" in result.stderr


def test_sigkill_keeps_committed_data(workdir: Path) -> None:
    server = Server(workdir, clean_env(CLARION_REGISTRATION="open")).start()
    body = {"email": "durable@example.com", "password": "written then killed", "name": "D"}
    try:
        assert httpx.post(f"{server.url}/auth/register", json=body).status_code == 201
    finally:
        server.stop(signal.SIGKILL)
    server.start()
    try:
        login = httpx.post(
            f"{server.url}/auth/login",
            json={"email": body["email"], "password": body["password"]},
        )
        assert login.status_code == 200
    finally:
        server.stop()
