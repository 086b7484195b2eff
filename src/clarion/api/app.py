"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from clarion import __version__, heap
from clarion.api import health
from clarion.api import metrics as prometheus
from clarion.api.docs import install_docs
from clarion.api.errors import install_error_handlers
from clarion.api.observe import ObserveRequests
from clarion.api.openapi import install_openapi
from clarion.api.rate_headers import RateLimitHeaders
from clarion.api.request_limits import RequestLimits
from clarion.api.routers import (
    admin,
    anonymisation,
    archive,
    auth,
    data_pipeline,
    devices,
    export,
    inbox,
    notifications,
    preferences,
    suppressions,
    templates,
    unsubscribe,
    users,
    webhooks,
)
from clarion.api.security import install_security
from clarion.bootstrap import Container, build_container
from clarion.config import Settings, load_settings
from clarion.console.router import install_console
from clarion.observability import tracing
from clarion.observability.logging import configure_logging, get_logger
from clarion.worker.runtime import start

log = get_logger(__name__)


def create_app(
    settings: Settings | None = None,
    container: Container | None = None,
    *,
    workers: bool = False,
    server: bool = False,
) -> FastAPI:
    """Build the app. With no arguments (as `uvicorn --factory` calls it) settings
    come from the environment; tests pass their own settings or container.
    `server`: the app is a server process's only one (the CLI's), so the
    collector is tuned for it once it has started (see heap.py); implied when
    the settings come from the environment."""
    if container is not None:
        settings = container.settings
    elif settings is None:
        settings = load_settings()
        configure_logging(settings.log_level, settings.log_format, settings.log_sample_rate)
        server = True
    resolved_settings = settings

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = container is None
        app.state.container = container or build_container(resolved_settings)
        dialect = app.state.container.engine.dialect.name
        log.info("api.started", version=__version__, database=dialect)
        background = await start(app.state.container, workers=workers, schedule=workers)
        if server:
            tracing.configure()
            heap.settle()
        try:
            yield
        finally:
            await background.shutdown()
            if owned:
                await app.state.container.close()

    app = FastAPI(
        title="Clarion",
        version=__version__,
        summary="Notifications by email, SMS, push and in-app, with retries and scheduling.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        # Clarion makes its own spans (api/observe.py), only while tracing is on;
        # FastAPI's would also send validation failures' text to an OTel log
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    install_error_handlers(app)
    app.add_middleware(RateLimitHeaders)
    install_security(app, resolved_settings)
    app.add_middleware(RequestLimits, max_bytes=resolved_settings.max_body_bytes)
    # outermost: every answer, refusals too, has its id, access line, metrics, span
    app.add_middleware(ObserveRequests)
    # Starlette tries routes in order, each one a match test: the hot path first,
    # the pages an operator opens now and then last. (Inbox before users: its
    # /users/me/... paths would otherwise match /users/{user_id}.)
    app.include_router(notifications.router)
    app.include_router(health.router)
    app.include_router(auth.router)
    app.include_router(inbox.router)
    app.include_router(users.router)
    app.include_router(devices.router)
    app.include_router(templates.router)
    app.include_router(preferences.router)
    app.include_router(unsubscribe.router)
    app.include_router(suppressions.router)
    app.include_router(admin.router)
    app.include_router(data_pipeline.router)
    app.include_router(archive.router)
    app.include_router(export.router)
    app.include_router(anonymisation.router)
    app.include_router(webhooks.router)
    app.include_router(prometheus.router)
    install_docs(app)
    install_console(app)
    install_openapi(app, resolved_settings)
    return app
