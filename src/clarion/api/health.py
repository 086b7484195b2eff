"""Health endpoints: liveness (the process answers), readiness (every component answers)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from clarion import __version__
from clarion.api.errors import error_response
from clarion.api.openapi import errors
from clarion.bootstrap import Container
from clarion.observability.logging import get_logger
from clarion.ports import Component

router = APIRouter(prefix="/health", tags=["health"])
NOT_READY = errors(503)
log = get_logger(__name__)


async def check(component: Component, limit_seconds: float) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(component.ping(), limit_seconds)
    except TimeoutError:
        error = "timed out"
    except Exception as exc:  # a down component is a report, not a crash
        error = type(exc).__name__
    else:
        latency = round((time.perf_counter() - started) * 1000, 2)
        return {"status": "up", "kind": component.kind, "latencyMs": latency}
    log.warning("health.check.failed", component=component.name, error=error)
    return {"status": "down", "kind": component.kind, "error": error}


async def check_all(container: Container) -> dict[str, dict[str, Any]]:
    components = container.components
    timeout = container.settings.health_timeout_seconds
    results = await asyncio.gather(*(check(c, timeout) for c in components))
    return {c.name: result for c, result in zip(components, results, strict=True)}


def not_ready(components: dict[str, dict[str, Any]]) -> JSONResponse:
    down = [name for name, result in components.items() if result["status"] != "up"]
    details = [{"component": name, **components[name]} for name in down]
    return error_response(503, "not_ready", f"Not ready: {', '.join(down)} down.", details)


@router.get("", summary="Overall status, version, uptime and each component", responses=NOT_READY)
async def health(request: Request) -> JSONResponse:
    container: Container = request.app.state.container
    components = await check_all(container)
    healthy = all(result["status"] == "up" for result in components.values())
    body = {
        "status": "ok" if healthy else "degraded",
        "version": __version__,
        "uptimeSeconds": round(time.monotonic() - container.started_at, 1),
        "components": components,
    }
    return JSONResponse(body, 200 if healthy else 503)


@router.get("/liveness", summary="The process is up and serving requests")
async def liveness() -> dict[str, str]:
    return {"status": "alive"}


@router.get(
    "/readiness",
    summary="200 when every configured component answers, else 503",
    responses=NOT_READY,
)
async def readiness(request: Request) -> JSONResponse:
    components = await check_all(request.app.state.container)
    if any(result["status"] != "up" for result in components.values()):
        return not_ready(components)
    return JSONResponse({"status": "ready", "components": components})
