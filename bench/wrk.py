"""Single POSTs driven by `wrk` (Debian's package), a compiled load generator that
costs the shared CPUs far less than a Python one; the Python fallback otherwise."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from typing import Any

from load import LoadResult, python_load

Load = Callable[[int, str, Any, dict[str, str], float, int], LoadResult]

UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def find_wrk() -> str | None:
    """`wrk` on PATH, or installed once with apt-get (we run as root); None if neither."""
    if found := shutil.which("wrk"):
        return found
    try:
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "wrk"],
            check=True,
            capture_output=True,
            timeout=600,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return shutil.which("wrk")


def pick_load() -> tuple[str, Load]:
    """The generator used for the ceiling and for Clarion alike, and its name."""
    binary = find_wrk()
    if binary is None:
        return "the Python asyncio generator in bench/load.py (wrk not found)", python_load

    def run(
        port: int, path: str, body: Any, headers: dict[str, str], seconds: float, connections: int
    ) -> LoadResult:
        return wrk_load(binary, port, path, body, headers, seconds, connections)

    version = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    return (version.stdout or version.stderr).split(" [")[0].strip() or "wrk", run


def lua_string(text: str) -> str:
    return "[==[" + text + "]==]"  # a long bracket: no escaping needed for JSON


def lua_script(body: Any, headers: dict[str, str]) -> str:
    lines = [
        'wrk.method = "POST"',
        f"wrk.body = {lua_string(json.dumps(body))}",
        'wrk.headers["Content-Type"] = "application/json"',
        *(f"wrk.headers[ {lua_string(k)} ] = {lua_string(v)}" for k, v in headers.items()),
    ]
    return "\n".join(lines) + "\n"


def wrk_load(
    binary: str,
    port: int,
    path: str,
    body: Any,
    headers: dict[str, str],
    seconds: float,
    connections: int,
) -> LoadResult:
    threads = min(connections, os.cpu_count() or 1)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="clarion-bench-") as script:
        script.write(lua_script(body, headers))
        script.flush()
        command = [
            binary,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "--latency",
            "-s",
            script.name,
            f"http://127.0.0.1:{port}{path}",
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0 or done.stderr.strip():  # a script error is only printed
        raise SystemExit(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return parse(done.stdout)


def duration(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if match is None:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match[1]) * UNITS[match[2]]


def parse(output: str) -> LoadResult:
    """Figures from `wrk --latency` output."""

    def find(pattern: str) -> re.Match[str] | None:
        return re.search(pattern, output, re.MULTILINE)

    rate, p50, p99 = (
        find(r"Requests/sec:\s+([\d.]+)"),
        find(r"^\s+50%\s+(\S+)"),
        find(r"^\s+99%\s+(\S+)"),
    )
    if rate is None or p50 is None or p99 is None:
        raise SystemExit(f"could not read wrk's output:\n{output}")
    non_2xx = find(r"Non-2xx or 3xx responses:\s+(\d+)")
    sockets = find(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
    return LoadResult(
        requests_per_s=float(rate[1]),
        p50=duration(p50[1]),
        p99=duration(p99[1]),
        non_2xx=int(non_2xx[1]) if non_2xx else 0,
        socket_errors=sum(int(n) for n in sockets.groups()) if sockets else 0,
    )
