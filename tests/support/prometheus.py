"""A real Prometheus server (Debian's `prometheus` package) scraping Clarion's
processes every second, and its HTTP query API."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from tests.support.processes import free_port


def prometheus_binary() -> str:
    found = shutil.which("prometheus")
    if found is None:
        raise RuntimeError(
            "prometheus is not installed: the test command installs Debian's `prometheus` "
            "package (scripts/test-tools)"
        )
    return found


class PrometheusServer:
    def __init__(self, workdir: Path, jobs: dict[str, list[str]]) -> None:
        """`jobs`: job name → `host:port` targets serving `/metrics`."""
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        lines = ["global:", "  scrape_interval: 1s", "  scrape_timeout: 1s", "scrape_configs:"]
        for job, targets in jobs.items():
            listed = ", ".join(f"'{t}'" for t in targets)
            lines += [f"  - job_name: {job}", "    static_configs:", f"      - targets: [{listed}]"]
        self.config = workdir / "prometheus.yml"
        self.config.write_text("\n".join(lines) + "\n")
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> PrometheusServer:
        with (self.workdir / "prometheus.log").open("wb") as log:
            self._process = subprocess.Popen(
                [
                    prometheus_binary(),
                    f"--config.file={self.config}",
                    f"--storage.tsdb.path={self.workdir / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError((self.workdir / "prometheus.log").read_text()[-2000:])

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(timeout=30)

    def query(self, expression: str) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.url}/api/v1/query", params={"query": expression}, timeout=5)
        body: dict[str, Any] = response.json()
        assert body["status"] == "success", body
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def value(self, expression: str) -> float | None:
        """The single value of a scalar-like query, None while it has none."""
        result = self.query(expression)
        return float(result[0]["value"][1]) if result else None

    def targets_up(self) -> dict[str, bool]:
        response = httpx.get(f"{self.url}/api/v1/targets", timeout=5).json()
        return {t["scrapeUrl"]: t["health"] == "up" for t in response["data"]["activeTargets"]}

    def wait_for(self, expression: str, wanted: float, within: float = 60) -> float | None:
        """Poll until the query gives `wanted`; the last value seen otherwise."""
        deadline = time.monotonic() + within
        seen = None
        while time.monotonic() < deadline:
            seen = self.value(expression)
            if seen == wanted:
                return seen
            time.sleep(0.5)
        return seen

    def wait_up(self, within: float = 60) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            up = self.targets_up()
            if up and all(up.values()):
                return
            time.sleep(0.5)
        raise AssertionError(f"targets not all up: {self.targets_up()}")
