"""`/data-pipeline`: what operators take out of Clarion. For now the audit
trail: its entries, filtered and paged, and counts over a window. Reading the
trail is itself audited."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field

from clarion.api.cursors import decode_cursor, encode_cursor
from clarion.api.deps import ContextDep, PrincipalDep, UowDep
from clarion.api.schemas import Moment, ResponseModel
from clarion.domain.audit import AuditQuery, AuditRecord
from clarion.domain.errors import InvalidInput, field_error
from clarion.domain.identity import AuditEntry, Principal, RequestContext
from clarion.domain.time import utcnow
from clarion.services.users import audit_entry, require_admin

router = APIRouter(prefix="/data-pipeline", tags=["data pipeline"])

# an action name as the services write them: `user.create`, `template.update`
Action = Annotated[str, Query(min_length=1, max_length=100, pattern=r"^[a-z_]+(\.[a-z_]+)*$")]
DEFAULT_WINDOW = timedelta(days=7)


class AuditLogOut(ResponseModel):
    id: uuid.UUID
    actor_id: uuid.UUID | None
    action: str
    entity_type: str | None
    entity_id: str | None
    changes: dict[str, Any] | None
    ip_address: str | None
    user_agent: str | None
    timestamp: datetime

    @classmethod
    def of(cls, record: AuditRecord) -> AuditLogOut:
        return cls.model_validate(record, from_attributes=True)


class AuditLogPage(ResponseModel):
    items: list[AuditLogOut]
    next_cursor: str | None


class ActionCount(ResponseModel):
    action: str
    count: int


class ActorCount(ResponseModel):
    actor_id: uuid.UUID | None
    count: int


class AuditStatsOut(ResponseModel):
    from_: datetime = Field(alias="from")
    to: datetime
    total: int
    by_action: list[ActionCount]
    by_actor: list[ActorCount]


def window(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    until = until or utcnow()
    since = since or until - DEFAULT_WINDOW
    if since >= until:
        message = "must be before `to`"
        raise InvalidInput(
            "The window is empty.", details=[field_error("from", message, location="query")]
        )
    return since, until


def audit_read(
    principal: Principal, context: RequestContext, action: str, filters: Mapping[str, object]
) -> AuditEntry:
    """The trail records who read it, and with which filters (none left out)."""
    kept = {k: str(v) if isinstance(v, uuid.UUID | datetime) else v for k, v in filters.items()}
    entity = uuid.uuid5(uuid.NAMESPACE_URL, "clarion:audit-log")
    return audit_entry(principal, action, "audit_log", entity, context, filters=kept)


@router.get("/audit-logs", response_model=AuditLogPage, summary="The audit trail, newest first")
async def audit_logs(
    principal: PrincipalDep,
    uow: UowDep,
    context: ContextDep,
    actor: Annotated[
        uuid.UUID | None, Query(description="The account that acted (an API key's owner).")
    ] = None,
    action: Annotated[list[Action] | None, Query(max_length=20)] = None,
    entity_type: Annotated[
        str | None, Query(alias="entityType", min_length=1, max_length=50)
    ] = None,
    entity_id: Annotated[str | None, Query(alias="entityId", min_length=1, max_length=100)] = None,
    since: Annotated[Moment | None, Query(alias="from")] = None,
    until: Annotated[Moment | None, Query(alias="to")] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AuditLogPage:
    """Filters combine with AND; several `action` values match any of them. Page
    on with `cursor` (the previous page's `nextCursor`) and the same filters."""
    require_admin(principal)
    query = AuditQuery(
        actor_id=actor,
        actions=tuple(action or ()),
        entity_type=entity_type,
        entity_id=entity_id,
        since=since,
        until=until,
        after=decode_cursor(cursor),
        limit=limit,
    )
    page = await uow.audit.page(query)
    filters = {
        "actor": actor,
        "action": list(query.actions) or None,
        "entityType": entity_type,
        "entityId": entity_id,
        "from": since,
        "to": until,
    }
    used = {k: v for k, v in filters.items() if v is not None}
    await uow.audit.record(audit_read(principal, context, "audit_log.read", used))
    return AuditLogPage(
        items=[AuditLogOut.of(r) for r in page.items], next_cursor=encode_cursor(page.last)
    )


@router.get(
    "/audit-logs/stats",
    response_model=AuditStatsOut,
    summary="Audit entries over a window, by action and by actor",
)
async def audit_stats(
    principal: PrincipalDep,
    uow: UowDep,
    context: ContextDep,
    since: Annotated[
        Moment | None, Query(alias="from", description="Default: 7 days before `to`.")
    ] = None,
    until: Annotated[Moment | None, Query(alias="to", description="Default: now.")] = None,
    top: Annotated[int, Query(ge=1, le=100, description="Actions and actors listed.")] = 20,
) -> AuditStatsOut:
    require_admin(principal)
    since, until = window(since, until)
    stats = await uow.audit.stats(since, until, top=top)
    await uow.audit.record(
        audit_read(principal, context, "audit_log.stats", {"from": since, "to": until})
    )
    return AuditStatsOut(
        from_=since,
        to=until,
        total=stats.total,
        by_action=[ActionCount(action=a, count=n) for a, n in stats.by_action],
        by_actor=[ActorCount(actor_id=a, count=n) for a, n in stats.by_actor],
    )
