"""`/data-pipeline/export`: notifications and events taken out of Clarion,
streamed as NDJSON or CSV."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from clarion.adapters.db.export import SqlExportReader
from clarion.api.deps import ContainerDep, ContextDep, PrincipalDep
from clarion.api.routers.notifications import Channels, Statuses, Types
from clarion.api.schemas import Moment
from clarion.bootstrap import Container
from clarion.domain.enums import EventType, NotificationStatus
from clarion.domain.errors import InvalidInput, field_error
from clarion.domain.export import ExportFilters, ExportFormat, Kind
from clarion.domain.identity import Principal, RequestContext
from clarion.domain.time import utcnow
from clarion.services.export import Exporter
from clarion.services.users import require_admin

router = APIRouter(prefix="/data-pipeline/export", tags=["data pipeline"])

MEDIA_TYPES = {ExportFormat.NDJSON: "application/x-ndjson", ExportFormat.CSV: "text/csv"}
STREAMED: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Every matching row, oldest first: one JSON document per line, "
        "or CSV with a header row (JSON-valued columns hold JSON text).",
        "content": {"application/x-ndjson": {}, "text/csv": {}},
    }
}

Format = Annotated[
    ExportFormat | None,
    Query(alias="format", description="Wins over `Accept`; default NDJSON."),
]
Since = Annotated[Moment | None, Query(alias="from", description="Inclusive.")]
Until = Annotated[Moment | None, Query(alias="to", description="Exclusive.")]
UserId = Annotated[uuid.UUID | None, Query(alias="userId")]
IncludeArchived = Annotated[
    bool, Query(alias="includeArchived", description="Archived rows first, then live ones.")
]
EventStatuses = Annotated[list[NotificationStatus] | None, Query(alias="status")]
EventChannels = Channels
EventTypes = Annotated[list[EventType] | None, Query(alias="type")]


def chosen_format(fmt: ExportFormat | None, request: Request) -> ExportFormat:
    if fmt is not None:
        return fmt
    accept = request.headers.get("accept", "")
    return ExportFormat.CSV if "text/csv" in accept else ExportFormat.NDJSON


def checked_window(since: datetime | None, until: datetime | None) -> None:
    if since is not None and until is not None and since >= until:
        raise InvalidInput(
            "The time range is empty.",
            details=[field_error("from", "must be before `to`", location="query")],
        )


def started(
    request: Request,
    principal: Principal,
    container: Container,
    context: RequestContext,
    kind: Kind,
    fmt: ExportFormat | None,
    filters: ExportFilters,
) -> StreamingResponse:
    """Checked before the first byte: the caller, the window and the format."""
    require_admin(principal)
    checked_window(filters.since, filters.until)
    chosen = chosen_format(fmt, request)
    exporter = Exporter(
        SqlExportReader(container.database.read_sessions), container.archive, container.unit_of_work
    )
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    return StreamingResponse(
        exporter.stream(kind, filters, chosen, principal, context),
        media_type=MEDIA_TYPES[chosen],
        headers={
            "Content-Disposition": f'attachment; filename="{kind}-{stamp}.{chosen.value}"',
            "Cache-Control": "no-store",
        },
    )


def filtered(
    since: datetime | None,
    until: datetime | None,
    user_id: uuid.UUID | None,
    statuses: list[Any] | None,
    channels: list[Any] | None,
    types: list[Any] | None,
    include_archived: bool,
) -> ExportFilters:
    """The query's filters; enum values as their names."""

    def values(items: list[Any] | None) -> tuple[str, ...]:
        return tuple(str(item.value) for item in items or ())

    return ExportFilters(
        since=since,
        until=until,
        user_id=user_id,
        statuses=values(statuses),
        channels=values(channels),
        types=values(types),
        include_archived=include_archived,
    )


@router.get(
    "/notifications",
    response_class=StreamingResponse,
    responses=STREAMED,
    summary="Export notifications (NDJSON or CSV, streamed)",
)
async def export_notifications(
    request: Request,
    principal: PrincipalDep,
    container: ContainerDep,
    context: ContextDep,
    fmt: Format = None,
    since: Since = None,
    until: Until = None,
    user_id: UserId = None,
    statuses: Statuses = None,
    channels: Channels = None,
    types: Types = None,
    include_archived: IncludeArchived = False,
) -> StreamingResponse:
    """Filters combine with AND; a repeated one matches any of its values. The
    time range is the notification's creation time. Audited as `data.export`."""
    filters = filtered(since, until, user_id, statuses, channels, types, include_archived)
    return started(request, principal, container, context, "notifications", fmt, filters)


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses=STREAMED,
    summary="Export events (NDJSON or CSV, streamed)",
)
async def export_events(
    request: Request,
    principal: PrincipalDep,
    container: ContainerDep,
    context: ContextDep,
    fmt: Format = None,
    since: Since = None,
    until: Until = None,
    user_id: UserId = None,
    statuses: EventStatuses = None,
    channels: EventChannels = None,
    types: EventTypes = None,
    include_archived: IncludeArchived = False,
) -> StreamingResponse:
    """As the notifications export; the time range is the event's time and
    `type` is the event's type."""
    filters = filtered(since, until, user_id, statuses, channels, types, include_archived)
    return started(request, principal, container, context, "events", fmt, filters)
