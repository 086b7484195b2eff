"""Request dependencies: the container, the transaction, the caller and its budget."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from clarion.api.rate_headers import report_budget
from clarion.bootstrap import Container
from clarion.console import session as console_session
from clarion.domain.errors import ClarionError, RateLimited, Unauthorized
from clarion.domain.identity import Principal, RequestContext
from clarion.observability.logging import get_logger
from clarion.ports import UnitOfWork
from clarion.services.auth import api_key_prefix

log = get_logger(__name__)


async def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


@asynccontextmanager
async def transaction(uow: UnitOfWork) -> AsyncIterator[UnitOfWork]:
    """The request's transaction: committed when the handler returns, before the
    response is sent; rolled back when it fails (unless the failure must stick)."""
    try:
        yield uow
    except ClarionError as exc:
        if exc.keeps_changes:
            await uow.commit()
        else:
            await uow.rollback()
        raise
    except BaseException:
        await uow.rollback()
        raise
    else:
        await uow.commit()
    finally:
        await uow.close()


async def get_uow(container: ContainerDep) -> AsyncIterator[UnitOfWork]:
    async with transaction(container.unit_of_work()) as uow:
        yield uow


async def get_grouped_uow(container: ContainerDep) -> AsyncIterator[UnitOfWork]:
    """For accepting notifications: the batch writes share commits."""
    async with transaction(container.grouped()) as uow:
        yield uow


async def get_read_uow(container: ContainerDep) -> AsyncIterator[UnitOfWork]:
    """For requests that only read."""
    async with transaction(container.reading()) as uow:
        yield uow


UowDep = Annotated[UnitOfWork, Depends(get_uow, scope="function")]
GroupedUowDep = Annotated[UnitOfWork, Depends(get_grouped_uow, scope="function")]
ReadUowDep = Annotated[UnitOfWork, Depends(get_read_uow, scope="function")]


async def get_context(request: Request) -> RequestContext:
    return RequestContext(
        ip_address=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
    )


ContextDep = Annotated[RequestContext, Depends(get_context)]


# Declared as security schemes so the OpenAPI document states both ways in;
# neither refuses by itself: `authenticate` answers every failure the same way.
bearer_scheme = HTTPBearer(
    auto_error=False, description="An access token from /auth/login, or an API key."
)
api_key_scheme = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="An API key from /admin/api-keys."
)


async def authenticate(
    container: ContainerDep,
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    api_key: Annotated[str | None, Depends(api_key_scheme)],
) -> Principal:
    """Who is calling. In steady state the principal comes from the cache; on a
    miss the lookup uses a short session of its own, released before the
    request's own work begins. Without a header, the console's session cookie
    is accepted, with its CSRF token on anything that changes state."""
    auth = container.auth
    sessions = container.reading
    credential = bearer.credentials.strip() if bearer is not None else ""
    if not api_key and not credential:
        cookie = console_session.session_token(request)
        if cookie is None:
            raise Unauthorized("Authentication required.")
        console_session.check_csrf(request, cookie)
        return await auth.principal_for_access_token(sessions, cookie)
    if api_key:
        return await auth.principal_for_api_key(sessions, api_key)
    if api_key_prefix(credential) is not None:
        return await auth.principal_for_api_key(sessions, credential)
    return await auth.principal_for_access_token(sessions, credential)


def tiers_for(principal: Principal, container: Container) -> str:
    settings = container.settings
    if principal.rate_limit:
        return principal.rate_limit
    if principal.kind == "api_key":
        return settings.rate_limit_api_key
    return settings.rate_limit_admin if principal.is_admin else settings.rate_limit_user


def notification_tiers_for(principal: Principal, container: Container) -> str:
    settings = container.settings
    if principal.kind == "api_key":
        return settings.rate_limit_notifications_api_key
    if principal.is_admin:
        return settings.rate_limit_notifications_admin
    return settings.rate_limit_notifications_user


async def apply_limit(
    container: Container,
    request: Request,
    key: str,
    tiers: str,
    cost: int = 1,
    label: str = "",
) -> None:
    if not container.settings.rate_limit_enabled:
        return
    try:
        decision = await container.rate_limiter.hit(key, tiers, cost)
    except Exception as exc:
        # the limit store (Redis) is down: admit rather than refuse everyone;
        # readiness reports the outage
        log.warning("ratelimit.storage.failed", error=type(exc).__name__)
        return
    if label:
        decision = decision.labelled(label)
    report_budget(request, decision)
    if not decision.allowed:
        raise RateLimited("Too many requests; slow down.", headers=decision.headers())


async def current_principal(
    principal: Annotated[Principal, Depends(authenticate)],
    container: ContainerDep,
    request: Request,
) -> Principal:
    """The authenticated caller, after its rate limit admitted the request."""
    await apply_limit(
        container, request, f"{principal.kind}:{principal.id}", tiers_for(principal, container)
    )
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


async def charge_notifications(
    container: Container, request: Request, principal: Principal, count: int
) -> None:
    """Count `count` notifications against the sender's budget: a batch of 1,000
    costs 1,000, not one request. Refused whole (429) when it does not fit."""
    if count <= 0:
        return
    await apply_limit(
        container,
        request,
        f"notifications:{principal.kind}:{principal.id}",
        notification_tiers_for(principal, container),
        cost=count,
        label="notifications",
    )


async def auth_endpoint_limit(
    container: ContainerDep, context: ContextDep, request: Request
) -> None:
    """Login, register and refresh have a stricter budget of their own, per IP."""
    await apply_limit(
        container, request, f"ip:{context.ip_address}:auth", container.settings.rate_limit_auth
    )
