"""`/admin`: role changes and API keys. Every action here is audited."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from clarion.api.deps import ContainerDep, ContextDep, PrincipalDep, ReadUowDep, UowDep
from clarion.api.notification_schemas import (
    DeadLetterOut,
    EventOut,
    NotificationOut,
    NotificationPage,
)
from clarion.api.openapi import errors
from clarion.api.routers.notifications import (
    Channels,
    Limit,
    Priorities,
    Statuses,
    Types,
    build_query,
    page_out,
)
from clarion.api.routers.users import list_users
from clarion.api.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    Moment,
    Offset,
    RoleChange,
    UserCreate,
    UserOut,
    UserPage,
)
from clarion.domain.enums import EventType
from clarion.domain.time import utcnow
from clarion.observability import metrics as prometheus
from clarion.services import api_keys, users
from clarion.services.cache_keys import notification_key, user_tag
from clarion.services.dashboard import circuit_states, dashboard
from clarion.services.notifications import redrive
from clarion.services.users import require_admin

router = APIRouter(prefix="/admin", tags=["admin"])


@router.get("/users", response_model=UserPage, summary="List users (same as GET /users)")
async def admin_list_users(
    principal: PrincipalDep,
    uow: UowDep,
    search: Annotated[str | None, Query(max_length=200)] = None,
    offset: Annotated[Offset, Query()] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> UserPage:
    return await list_users(principal, uow, search, offset, limit)


@router.post(
    "/users",
    status_code=status.HTTP_201_CREATED,
    response_model=UserOut,
    responses=errors(409),
    summary="Open an account for someone (audited)",
)
async def create_user(
    body: UserCreate,
    principal: PrincipalDep,
    uow: UowDep,
    container: ContainerDep,
    context: ContextDep,
) -> UserOut:
    user = await users.create_user(
        uow,
        container.auth,
        principal,
        context,
        email=body.email,
        password=body.password,
        name=body.name,
        phone=body.phone,
    )
    return UserOut.of(user)


@router.post("/users/{user_id}/role", response_model=UserOut, responses=errors(409))
async def change_role(
    user_id: uuid.UUID,
    body: RoleChange,
    principal: PrincipalDep,
    uow: UowDep,
    context: ContextDep,
    container: ContainerDep,
) -> UserOut:
    changed = await users.change_role(uow, principal, user_id, body.role, context)
    container.auth.principals.forget_user(uow, user_id)
    return UserOut.of(changed)


@router.post("/api-keys", status_code=status.HTTP_201_CREATED, response_model=ApiKeyCreated)
async def create_api_key(
    body: ApiKeyCreate, principal: PrincipalDep, uow: UowDep, context: ContextDep
) -> ApiKeyCreated:
    key, secret = await api_keys.create_api_key(
        uow,
        principal,
        name=body.name,
        scopes=frozenset(body.scopes),
        rate_limit=body.rate_limit,
        context=context,
    )
    return ApiKeyCreated(**ApiKeyOut.of(key).model_dump(), key=secret)


@router.get("/api-keys", response_model=list[ApiKeyOut])
async def list_api_keys(principal: PrincipalDep, uow: UowDep) -> list[ApiKeyOut]:
    return [ApiKeyOut.of(key) for key in await api_keys.list_api_keys(uow, principal)]


@router.delete("/api-keys/{key_id}", response_model=ApiKeyOut, summary="Revoke an API key")
async def revoke_api_key(
    key_id: uuid.UUID,
    principal: PrincipalDep,
    uow: UowDep,
    context: ContextDep,
    container: ContainerDep,
) -> ApiKeyOut:
    revoked = await api_keys.revoke_api_key(uow, principal, key_id, context)
    container.auth.principals.forget_api_key(uow, revoked.prefix)
    return ApiKeyOut.of(revoked)


@router.get(
    "/notifications",
    response_model=NotificationPage,
    summary="Search every user's notifications, with free text",
)
async def search_notifications(
    principal: PrincipalDep,
    uow: ReadUowDep,
    user_id: Annotated[uuid.UUID | None, Query(alias="userId")] = None,
    statuses: Statuses = None,
    channels: Channels = None,
    types: Types = None,
    priorities: Priorities = None,
    created_from: Annotated[Moment | None, Query(alias="createdFrom")] = None,
    created_to: Annotated[Moment | None, Query(alias="createdTo")] = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            description="Text in the payload (content, explicit address, template variables) "
            "or in the recipient's email or phone; case is ignored for ASCII letters.",
        ),
    ] = None,
    cursor: str | None = None,
    limit: Limit = 50,
) -> NotificationPage:
    """The filters of `GET /notifications`, for any user, plus `q`. Newest first;
    page on with `cursor` and the same filters. Not cached: every search reads
    the database."""
    require_admin(principal)
    query = build_query(
        user_id, statuses, channels, types, priorities, created_from, created_to, cursor, limit
    )
    return page_out(await uow.notifications.page(replace(query, text=q)))


@router.get("/dlq", response_model=list[DeadLetterOut], summary="Dead letters with their errors")
async def dead_letters(
    principal: PrincipalDep,
    uow: UowDep,
    offset: Annotated[Offset, Query()] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[DeadLetterOut]:
    require_admin(principal)
    records = await uow.notifications.dead_letters(limit=limit, offset=offset)
    history = await uow.notifications.events_for([r.id for r in records])
    return [
        DeadLetterOut(
            notification=NotificationOut.of(record),
            errors=[
                EventOut.of(e)
                for e in history[record.id]
                if e.type in (EventType.RETRIED, EventType.FAILED)
            ],
        )
        for record in records
    ]


@router.post(
    "/notifications/{notification_id}/retry", response_model=NotificationOut, responses=errors(409)
)
async def retry_notification(
    notification_id: uuid.UUID,
    principal: PrincipalDep,
    uow: UowDep,
    context: ContextDep,
    container: ContainerDep,
) -> NotificationOut:
    record = await redrive(container.notifications, uow, principal, notification_id, context)
    await container.cache.delete(notification_key(notification_id))
    await container.cache.invalidate_tag(user_tag(record.user_id))
    return NotificationOut.of(record)


@router.get("/sandbox/messages", summary="What the sandbox provider would have sent")
async def sandbox_messages(
    principal: PrincipalDep,
    container: ContainerDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> list[dict[str, Any]]:
    require_admin(principal)
    return await container.sandbox.recent(limit)


@router.get(
    "/queue/stats", summary="The queue per lane: the database's backlog and the broker's lag"
)
async def queue_stats(
    principal: PrincipalDep, uow: UowDep, container: ContainerDep
) -> dict[str, Any]:
    require_admin(principal)
    return {
        "backlog": await uow.notifications.backlog(),
        "transport": await container.queue.stats(),
    }


@router.get("/dashboard", summary="What operators look at first: volumes, failures, backlog")
async def admin_dashboard(
    principal: PrincipalDep, uow: ReadUowDep, container: ContainerDep
) -> dict[str, Any]:
    """From the database, cached for 30 s (`metrics:dashboard`): notifications by
    status and channel created in the last hour and day with their failure
    rates, SENT per minute over the last hour, the day's top failure reasons,
    dead letters, the oldest PENDING notification and each lane's backlog.
    From this process, read at each call: its in-process queue, its providers'
    circuits (`circuitsOf: "this process"`: in a scaled-out deployment workers
    hold their own) and its cache counters."""
    require_admin(principal)
    local = {
        "queue": container.queue_depth(),
        "circuitsOf": "this process",
        "circuits": circuit_states(container.routes.by_channel),
        "cache": container.cache_stats.as_dict(),
    }
    return await dashboard(uow, container.cache, utcnow(), local=local)


@router.get("/metrics", summary="Queue depth per lane, cache hit counts and notification totals")
async def metrics(principal: PrincipalDep, container: ContainerDep) -> dict[str, Any]:
    """The JSON view of a few of the figures `GET /metrics` serves to Prometheus,
    read from the same registry (and so, on a server of several processes, from
    all of them)."""
    require_admin(principal)
    return {
        "queue": container.queue_depth(),
        "cache": container.cache_stats.as_dict(),
        "notifications": prometheus.totals("notifications_total", "status"),
        "failed": prometheus.totals("notifications_failed_total", "reason"),
        "published": prometheus.totals("kafka_messages_published_total", "topic"),
    }
