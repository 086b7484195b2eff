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
