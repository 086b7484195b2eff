"""The admin dashboard's database figures with many notifications stored: the
time of `GET /admin/dashboard` when its 30 s cache entry has run out.

    .venv/bin/python bench/dashboard.py [--stored 1000000] [--runs 20]
        [--backend sqlite|postgresql|both]

Each backend gets a fresh database, migrated, with `--stored` notifications sent
over the past seven days written in SQL (as `bench/run.py --stored` does). Then
the figures the endpoint reads from the database (`uow.dashboard.figures`) are
read `--runs` times in this process, one after another; the table gives p50,
p90 and the slowest."""

from __future__ import annotations

import argparse
import asyncio
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

from deployments import ADMIN, POSTGRES, announce_seeding, base_env, postgres_admin, prepare
from load import percentile
from report import number
from stored import seed_postgres, seed_sqlite

from clarion.bootstrap import build_container
from clarion.config import Settings
from clarion.domain.time import utcnow

SECRET = secrets.token_urlsafe(48)  # the database alone is read: any signing key will do


async def timings(database_url: str, runs: int) -> list[float]:
    # every secret given, so none is generated into the working directory
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=database_url,
        jwt_secret=SECRET,
        webhook_secret=SECRET,
        unsubscribe_secret=SECRET,
    )
    container = build_container(settings)
    try:
        found: list[float] = []
        for _ in range(runs + 1):
            started = time.perf_counter()
            async with container.reading() as uow:
                await uow.dashboard.figures(utcnow())
            found.append(time.perf_counter() - started)
        return found[1:]  # the first warms the connection pool and the page cache
    finally:
        await container.close()


def sqlite_run(stored: int, runs: int) -> list[float]:
    workdir = Path(tempfile.mkdtemp(prefix="clarion-bench-dashboard-"))
    try:
        prepare(base_env(), workdir)
        started = announce_seeding(stored)
        seed_sqlite(workdir / "clarion.db", ADMIN["email"], stored)
        print(f"{time.perf_counter() - started:.0f} s", flush=True)
        return asyncio.run(timings(f"sqlite+aiosqlite:///{workdir / 'clarion.db'}", runs))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def postgres_run(stored: int, runs: int) -> list[float]:
    name = f"clarion_dashboard_{secrets.token_hex(4)}"
    postgres_admin(f'CREATE DATABASE "{name}"')
    try:
        secrets_given = {
            f"CLARION_{kind}_SECRET": SECRET for kind in ("JWT", "WEBHOOK", "UNSUBSCRIBE")
        }
        prepare(base_env(CLARION_DATABASE_URL=f"{POSTGRES}/{name}", **secrets_given))
        started = announce_seeding(stored)
        seed_postgres(f"{POSTGRES}/{name}", ADMIN["email"], stored)
        print(f"{time.perf_counter() - started:.0f} s", flush=True)
        url = f"{POSTGRES}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1)
        return asyncio.run(timings(url, runs))
    finally:
        postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stored", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    print(f"dashboard figures with {args.stored:,} stored notifications, {args.runs} reads")
    for backend in backends:
        print(f"\n{backend}", flush=True)
        run = sqlite_run if backend == "sqlite" else postgres_run
        found = run(args.stored, args.runs)
        for label, value in (
            ("p50 (ms)", percentile(found, 0.50) * 1000),
            ("p90 (ms)", percentile(found, 0.90) * 1000),
            ("slowest (ms)", max(found) * 1000),
        ):
            print(f"  {label:<14}{number(value):>10}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
