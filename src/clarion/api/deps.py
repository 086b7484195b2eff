"""Request dependencies: the container, the transaction, the caller and its budget."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request, Response

from clarion.bootstrap import Container
from clarion.domain.errors import ClarionError, RateLimited, Unauthorized
from clarion.domain.identity import Principal, RequestContext
from clarion.observability.logging import get_logger
from clarion.ports import UnitOfWork
from clarion.services.auth import api_key_prefix

log = get_logger(__name__)


def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


async def get_uow(container: ContainerDep) -> AsyncIterator[UnitOfWork]:
    """The request's transaction: committed when the handler returns, before the
    response is sent; rolled back when it fails (unless the failure must stick)."""
    uow = container.unit_of_work()
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


UowDep = Annotated[UnitOfWork, Depends(get_uow, scope="function")]


def get_context(request: Request) -> RequestContext:
    return RequestContext(
        ip_address=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
    )


ContextDep = Annotated[RequestContext, Depends(get_context)]


async def authenticate(request: Request, container: ContainerDep) -> Principal:
    """Who is calling. The lookup uses a short session of its own, released
    before the request's own work begins: a request never holds one pooled
    connection while waiting for a second."""
    auth = container.auth
    api_key = request.headers.get("x-api-key")
    scheme, _, credential = request.headers.get("authorization", "").partition(" ")
    credential = credential.strip()
    if not api_key and (scheme.lower() != "bearer" or not credential):
        raise Unauthorized("Authentication required.")
    uow = container.unit_of_work()
    try:
        if api_key:
            return await auth.principal_for_api_key(uow, api_key)
        if api_key_prefix(credential) is not None:
            return await auth.principal_for_api_key(uow, credential)
        return await auth.principal_for_access_token(uow, credential)
    finally:
        await uow.close()


def tiers_for(principal: Principal, container: Container) -> str:
    settings = container.settings
    if principal.rate_limit:
        return principal.rate_limit
    if principal.kind == "api_key":
        return settings.rate_limit_api_key
    return settings.rate_limit_admin if principal.is_admin else settings.rate_limit_user


async def apply_limit(container: Container, response: Response, key: str, tiers: str) -> None:
    if not container.settings.rate_limit_enabled:
        return
    try:
        decision = await container.rate_limiter.hit(key, tiers)
    except Exception as exc:
        # the limit store (Redis) is down: admit rather than refuse everyone;
        # readiness reports the outage
        log.warning("ratelimit.storage.failed", error=type(exc).__name__)
        return
    if not decision.allowed:
        raise RateLimited("Too many requests; slow down.", headers=decision.headers())
    response.headers.update(decision.headers())


async def current_principal(
    principal: Annotated[Principal, Depends(authenticate)],
    container: ContainerDep,
    response: Response,
) -> Principal:
    """The authenticated caller, after its rate limit admitted the request."""
    await apply_limit(
        container, response, f"{principal.kind}:{principal.id}", tiers_for(principal, container)
    )
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


async def auth_endpoint_limit(
    container: ContainerDep, context: ContextDep, response: Response
) -> None:
    """Login, register and refresh have a stricter budget of their own, per IP."""
    await apply_limit(
        container, response, f"ip:{context.ip_address}:auth", container.settings.rate_limit_auth
    )
