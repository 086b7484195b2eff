"""`clarion ...`: the command line."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import prometheus_client
import typer
import uvicorn

from clarion import __version__, heap
from clarion.adapters.db import migrate as migrations
from clarion.adapters.providers.registry import webhook_secret
from clarion.adapters.token_keys import load_token_keys
from clarion.bootstrap import Container, build_container
from clarion.config import ConfigError, Settings, load_settings, unknown_variables
from clarion.domain.enums import Role
from clarion.domain.errors import ClarionError
from clarion.observability import tracing
from clarion.observability.logging import configure_logging
from clarion.services.admins import FirstAdmin, ensure_first_admin
from clarion.worker.runtime import start

app = typer.Typer(
    help="Clarion: a self-hostable notification service.",
    no_args_is_help=True,
    add_completion=False,
)

HostOption = Annotated[str | None, typer.Option(help="Address to listen on (CLARION_HOST).")]
PortOption = Annotated[int | None, typer.Option(help="Port to listen on (CLARION_PORT).")]


def settings_or_exit() -> Settings:
    for name in unknown_variables():
        typer.secho(f"warning: {name} is not a Clarion setting; ignored", err=True, fg="yellow")
    try:
        settings = load_settings()
    except ConfigError as exc:
        typer.secho(f"clarion: {exc}", err=True, fg="red")
        raise typer.Exit(2) from None
    configure_logging(settings.log_level, settings.log_format, settings.log_sample_rate)
    return settings


def ensure_sqlite_directory(settings: Settings) -> None:
    path = settings.database_url.split("///", 1)[-1]
    if settings.is_sqlite and path and path != ":memory:":
        Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)


def container_or_exit(settings: Settings) -> Container:
    try:
        return build_container(settings)
    except ConfigError as exc:
        typer.secho(f"clarion: {exc}", err=True, fg="red")
        raise typer.Exit(2) from None


async def first_admin(settings: Settings) -> FirstAdmin | None:
    container = container_or_exit(settings)
    uow = container.unit_of_work()
    try:
        created = await ensure_first_admin(
            uow,
            container.auth,
            email=settings.admin_email,
            password=(
                settings.admin_password.get_secret_value() if settings.admin_password else None
            ),
        )
        await uow.commit()
        return created
    finally:
        await uow.close()
        await container.close()


def announce_admin(created: FirstAdmin | None) -> None:
    if created is None:
        return
    if created.generated_password is None:
        typer.echo(f"  Admin:     created {created.email} with CLARION_ADMIN_PASSWORD")
        return
    # shown once, on the console only: never written to the structured logs
    typer.echo(
        "\n  An administrator was created. Sign in with:\n"
        f"    email:    {created.email}\n"
        f"    password: {created.generated_password}\n"
        "  POST /auth/login with these, then change the password (PATCH /users/{id}).\n"
        "  This password is not shown again.\n"
    )


def describe(settings: Settings) -> str:
    database = "SQLite" if settings.is_sqlite else "PostgreSQL"
    queue = "Kafka" if settings.kafka_bootstrap_servers else "embedded queue"
    cache = "Redis" if settings.redis_url else "in-process cache"
    return f"{database}, {queue}, {cache}"


@app.command()
def serve(host: HostOption = None, port: PortOption = None) -> None:
    """Run everything in one process: API, worker and scheduler (the embedded default)."""
    settings = settings_or_exit()
    ensure_sqlite_directory(settings)
    migrations.upgrade(settings.database_url)
    created = asyncio.run(first_admin(settings))
    from clarion.api.app import create_app

    bind_host, bind_port = host or settings.host, port or settings.port
    typer.echo(
        f"Clarion {__version__} on {describe(settings)}\n"
        f"  API docs:  http://{bind_host}:{bind_port}/docs\n"
        f"  Readiness: http://{bind_host}:{bind_port}/health/readiness"
    )
    announce_admin(created)
    uvicorn.run(
        create_app(settings, workers=True, server=True),
        host=bind_host,
        port=bind_port,
        loop="uvloop",
        http="httptools",
        log_level=settings.log_level.lower(),
        # uvicorn's records reach our JSON root handler (observability/logging.py);
        # the access line, with its duration, comes from api/observe.py
        log_config=None,
        access_log=False,
        forwarded_allow_ips=settings.trusted_proxies,
    )


@app.command()
def api(
    host: HostOption = None,
    port: PortOption = None,
    workers: Annotated[
        int | None, typer.Option(help="Server processes (CLARION_API_WORKERS).")
    ] = None,
) -> None:
    """Run only the HTTP API (scaled-out mode). The schema must already be migrated."""
    settings = scaled_out_or_exit("api")
    current, head = migrations.current_revision(settings.database_url), migrations.head_revision()
    if current != head:
        typer.secho(
            f"clarion: the database is at revision {current or 'none'}, this version needs "
            f"{head}; run `clarion migrate` first.",
            err=True,
            fg="red",
        )
        raise typer.Exit(2)
    secrets_or_exit(settings)
    processes = workers or settings.api_workers
    if processes > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # each server process writes its metrics to files here; any of them,
        # scraped, answers for all (a new folder: no counts of an earlier run)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="clarion-metrics-")
    uvicorn.run(
        "clarion.api.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=processes,
        loop="uvloop",
        http="httptools",
        log_level=settings.log_level.lower(),
        # uvicorn's records reach our JSON root handler (observability/logging.py);
        # the access line, with its duration, comes from api/observe.py
        log_config=None,
        access_log=False,
        forwarded_allow_ips=settings.trusted_proxies,
    )


def secrets_or_exit(settings: Settings) -> None:
    """The API processes build their objects inside the server's start-up, where a
    bad secret would end in a traceback; it is checked here first instead."""
    try:
        load_token_keys(settings)
        webhook_secret(settings)
    except ConfigError as exc:
        typer.secho(f"clarion: {exc}", err=True, fg="red")
        raise typer.Exit(2) from None


def scaled_out_or_exit(command: str) -> Settings:
    """The separate processes share work through Kafka; the in-process queue of
    one process cannot reach another, so they refuse to start without it."""
    settings = settings_or_exit()
    if settings.kafka_bootstrap_servers is None:
        typer.secho(
            f"clarion {command}: needs CLARION_KAFKA_BOOTSTRAP_SERVERS (a queue shared by "
            "processes). With the embedded queue, run `clarion serve`: API, workers and "
            "scheduler in one process.",
            err=True,
            fg="red",
        )
        raise typer.Exit(2)
    return settings


async def run_background(settings: Settings, *, workers: bool, schedule: bool) -> None:
    """Run until SIGTERM or SIGINT, then finish the batch in hand and exit."""
    container = container_or_exit(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    if settings.metrics_port is not None:
        prometheus_client.start_http_server(settings.metrics_port, addr=settings.host)
    tracing.configure()
    background = await start(container, workers=workers, schedule=schedule)
    heap.settle()
    try:
        await stop.wait()
    finally:
        await background.shutdown()
        await container.close()


@app.command()
def worker(
    concurrency: Annotated[
        int | None, typer.Option(help="Consumer loops (CLARION_WORKER_CONCURRENCY).")
    ] = None,
) -> None:
    """Consume the queue and deliver notifications (scaled-out mode)."""
    settings = scaled_out_or_exit("worker")
    if concurrency is not None:
        settings = settings.model_copy(update={"worker_concurrency": concurrency})
    asyncio.run(run_background(settings, workers=True, schedule=False))


@app.command()
def scheduler() -> None:
    """Promote due scheduled notifications and re-publish unconfirmed ones (scaled-out mode)."""
    settings = scaled_out_or_exit("scheduler")
    asyncio.run(run_background(settings, workers=False, schedule=True))


@app.command()
def migrate() -> None:
    """Apply every pending database migration."""
    settings = settings_or_exit()
    ensure_sqlite_directory(settings)
    before = migrations.current_revision(settings.database_url)
    migrations.upgrade(settings.database_url)
    after = migrations.current_revision(settings.database_url)
    typer.echo(f"database migrated: {before or 'empty'} -> {after}")


@app.command("create-admin")
def create_admin(
    email: Annotated[str | None, typer.Option(help="Defaults to CLARION_ADMIN_EMAIL.")] = None,
    password: Annotated[
        str | None,
        typer.Option(help="Defaults to CLARION_ADMIN_PASSWORD; prompted for when neither is set."),
    ] = None,
) -> None:
    """Create an administrator account (the database must be migrated)."""
    settings = settings_or_exit()
    email = email or settings.admin_email
    if not email:
        typer.secho("clarion: give --email or set CLARION_ADMIN_EMAIL", err=True, fg="red")
        raise typer.Exit(2)
    secret = password or (
        settings.admin_password.get_secret_value() if settings.admin_password else None
    )
    if secret is None:
        if not sys.stdin.isatty():
            typer.secho(
                "clarion: give --password or set CLARION_ADMIN_PASSWORD", err=True, fg="red"
            )
            raise typer.Exit(2)
        secret = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        asyncio.run(register_admin(settings, email, secret))
    except ClarionError as exc:
        typer.secho(f"clarion: {exc.message}", err=True, fg="red")
        raise typer.Exit(1) from None
    typer.echo(f"administrator {email.strip().lower()} created")


async def register_admin(settings: Settings, email: str, password: str) -> None:
    container = container_or_exit(settings)
    uow = container.unit_of_work()
    try:
        await container.auth.register(
            uow, email=email, password=password, name="Administrator", role=Role.ADMIN
        )
        await uow.commit()
    finally:
        await uow.close()
        await container.close()


@app.command()
def version() -> None:
    """Print Clarion's version."""
    typer.echo(__version__)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
