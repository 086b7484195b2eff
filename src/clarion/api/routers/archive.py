"""`/data-pipeline/archive`: run an archive pass now, and what the archive holds.

The pass runs within the request: it answers when the pass is over, with what
it moved. It works in chunks of `CLARION_ARCHIVE_CHUNK_ROWS` notifications, so
its memory stays bounded however much is due, but a first pass over years of
data may outlast a client's or proxy's timeout; the daily pass of the scheduler
does the same work without a request. A pass stopped half-way (a request cut
off, a process killed) has moved whole chunks or nothing of a chunk, and the
next pass goes on from there; a second pass asked for meanwhile answers 409.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from clarion.api.deps import ContainerDep, ContextDep, PrincipalDep, UowDep
from clarion.api.schemas import ResponseModel
from clarion.domain.archive import ArchiveRun, Trigger
from clarion.services.archive import ArchiveFailed
from clarion.services.users import audit_entry, require_admin

router = APIRouter(prefix="/data-pipeline", tags=["data pipeline"])

ARCHIVE_ENTITY = uuid.uuid5(uuid.NAMESPACE_URL, "clarion:archive")


class ArchiveRunOut(ResponseModel):
    id: uuid.UUID
    trigger: str
    outcome: str
    older_than_days: int
    cutoff: datetime
    started_at: datetime
    finished_at: datetime | None
    files: int
    notifications: int
    events: int
    bytes: int
    orphans_removed: int
    error: str | None

    @classmethod
    def of(cls, run: ArchiveRun) -> ArchiveRunOut:
        return cls(
            id=run.id,
            trigger=run.trigger.value,
            outcome=run.outcome.value,
            older_than_days=run.older_than_days,
            cutoff=run.cutoff,
            started_at=run.started_at,
            finished_at=run.finished_at,
            files=run.files,
            notifications=run.notifications,
            events=run.events,
            bytes=run.bytes,
            orphans_removed=run.orphans_removed,
            error=run.error,
        )


class ArchiveStatsOut(ResponseModel):
    location: str
    files: int
    notifications: int
    events: int
    bytes: int
    oldest: datetime | None
    newest: datetime | None
    last_run: ArchiveRunOut | None


@router.post(
    "/archive",
    response_model=ArchiveRunOut,
    summary="Archive finished notifications older than the cut-off, now",
    responses={409: {"description": "Another archive pass is under way."}},
)
async def archive_now(
    principal: PrincipalDep,
    uow: UowDep,
    context: ContextDep,
    container: ContainerDep,
    older_than_days: Annotated[
        int | None,
        Query(
            alias="olderThanDays",
            ge=1,
            le=36500,
            description="Cut-off in days; default CLARION_ARCHIVE_AFTER_DAYS.",
        ),
    ] = None,
) -> ArchiveRunOut:
    """Moves SENT, FAILED, CANCELLED and NOT_SENT notifications created before
    the cut-off, with their events, into archive files, and answers what this
    pass moved. Runs to its end before answering (see the module's note)."""
    require_admin(principal)
    try:
        run = await container.archive.run(
            Trigger.MANUAL, older_than_days=older_than_days or container.archive.older_than_days
        )
    except ArchiveFailed as failed:
        await uow.audit.record(
            audit_entry(
                principal, "data.archive", "archive", ARCHIVE_ENTITY, context, failed=failed.message
            )
        )
        raise
    counts = {
        "runId": str(run.id),
        "olderThanDays": run.older_than_days,
        "files": run.files,
        "notifications": run.notifications,
        "events": run.events,
        "bytes": run.bytes,
    }
    await uow.audit.record(
        audit_entry(principal, "data.archive", "archive", ARCHIVE_ENTITY, context, **counts)
    )
    return ArchiveRunOut.of(run)


@router.get(
    "/archive/stats",
    response_model=ArchiveStatsOut,
    summary="What the archive holds, and the last pass",
)
async def archive_stats(
    principal: PrincipalDep, uow: UowDep, context: ContextDep, container: ContainerDep
) -> ArchiveStatsOut:
    require_admin(principal)
    stats = await container.archive.stats()
    await uow.audit.record(
        audit_entry(principal, "data.archive.stats", "archive", ARCHIVE_ENTITY, context)
    )
    return ArchiveStatsOut(
        location=container.archive.store.location,
        files=stats.files,
        notifications=stats.notifications,
        events=stats.events,
        bytes=stats.bytes,
        oldest=stats.oldest,
        newest=stats.newest,
        last_run=ArchiveRunOut.of(stats.last_run) if stats.last_run else None,
    )
