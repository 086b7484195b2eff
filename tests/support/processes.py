"""Run the real `clarion` command in a subprocess, as a user would."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

CLARION = str(Path(sys.executable).with_name("clarion"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLARION_")}
    env.update(extra)
    return env


def run_clarion(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLARION, *args],
        cwd=cwd,
        env=env or clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


class Server:
    """`clarion serve` in a working directory, its output kept for inspection."""

    def __init__(self, cwd: Path, env: dict[str, str] | None = None) -> None:
        self.cwd = cwd
        self.port = free_port()
        self.env = env or clean_env()
        self.url = f"http://127.0.0.1:{self.port}"
        self.output = ""
        self.log_path = cwd / "serve.log"
        self._process: subprocess.Popen[str] | None = None

    def start(self, timeout: float = 30) -> Server:
        with self.log_path.open("w") as log:
            self._process = subprocess.Popen(
                [CLARION, "serve", "--port", str(self.port)],
                cwd=self.cwd,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
            )
        return self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> Server:
        assert self._process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"clarion serve exited early:\n{self.read_output()}")
            try:
                if httpx.get(f"{self.url}/health/readiness", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"clarion serve did not become ready:\n{self.read_output()}")

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        """Signal the server and wait; the exit code (uvicorn re-raises SIGTERM
        after a graceful shutdown, so a clean stop reads as -15)."""
        assert self._process is not None
        self._process.send_signal(sig)
        code = self._process.wait(timeout=30)
        self.output = self.read_output()
        return code

    def read_output(self) -> str:
        return self.log_path.read_text()

    def kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(timeout=10)


class Stack:
    """Several `clarion` processes sharing one environment (the scaled-out mode):
    each logs to `<name>.log` in `workdir`; `stop` sends SIGTERM to all."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.env = env
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def prepare(self) -> None:
        """Migrate the database and create the admin of the environment."""
        for command in ("migrate", "create-admin"):
            subprocess.run([CLARION, command], env=self.env, check=True, capture_output=True)

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        with (self.workdir / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(
                [CLARION, *args], env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        self.processes[name] = process
        return process

    def start_api(self, name: str = "api") -> str:
        port = free_port()
        self.start(name, "api", "--port", str(port))
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/health/readiness", timeout=2).status_code == 200:
                    return url
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{name} did not become ready:\n{self.log(name)}")

    def log(self, name: str) -> str:
        return (self.workdir / f"{name}.log").read_text()

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def admin_session(url: str, admin: dict[str, str]) -> tuple[dict[str, str], str]:
    """The admin's Authorization header and user id, through the API."""
    token = httpx.post(f"{url}/auth/login", json=admin).json()["accessToken"]
    headers = {"Authorization": f"Bearer {token}"}
    return headers, httpx.get(f"{url}/auth/me", headers=headers).json()["id"]


def send_emails(
    url: str, headers: dict[str, str], user_id: str, total: int, recipient: str
) -> None:
    """`total` EMAIL notifications in batches of 1,000; `recipient` is a format
    with `{i}` (a sandbox magic such as `slow-10-{i}@x.io` slows the sends)."""
    with httpx.Client(base_url=url, headers=headers, timeout=120) as http:
        for start in range(0, total, 1000):
            items = [
                {
                    "userId": user_id,
                    "channel": "EMAIL",
                    "type": "TRANSACTIONAL",
                    "payload": {"subject": "s", "body": "b", "to": recipient.format(i=start + i)},
                }
                for i in range(min(1000, total - start))
            ]
            created = http.post("/notifications/batch", json={"notifications": items})
            assert created.json()["created"] == len(items), created.text
