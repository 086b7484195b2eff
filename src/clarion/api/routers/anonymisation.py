"""`/data-pipeline/anonymize`: an erasure request, and what has been erased."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter

from clarion.api.deps import ContainerDep, ContextDep, PrincipalDep, UowDep
from clarion.api.schemas import ResponseModel
from clarion.services.anonymise import anonymisation_stats, anonymise_user

router = APIRouter(prefix="/data-pipeline", tags=["data pipeline"])


class AnonymisedOut(ResponseModel):
    user_id: uuid.UUID
    pseudonym: str
    anonymised_at: datetime
    rows: dict[str, int]
    already_anonymised: bool


class AnonymisationStatsOut(ResponseModel):
    users: int
    since: datetime
    recent: int
    last_at: datetime | None
    rows: dict[str, int]


@router.delete(
    "/anonymize/{user_id}",
    response_model=AnonymisedOut,
    summary="Replace a user's personal data with a pseudonym everywhere",
)
async def anonymize(
    user_id: uuid.UUID,
    principal: PrincipalDep,
    uow: UowDep,
    container: ContainerDep,
    context: ContextDep,
) -> AnonymisedOut:
    """The account (email, name, phone, password), their notifications'
    payloads and error texts, events' metadata, sandbox records, stored
    idempotent answers, devices, suppressions of their addresses and audit
    entries about them lose their personal data; what still waited to be sent
    is cancelled, their sessions and API keys end. Statuses, channels, types and
    times stay, so statistics do not change. Archived rows of the user are
    anonymised when read. Asking again answers the first result
    (`alreadyAnonymised`). Administrators must be demoted first (409)."""
    result, made = await anonymise_user(
        uow, container.auth.principals, container.cache, principal, user_id, context
    )
    return AnonymisedOut(
        user_id=result.user_id,
        pseudonym=result.pseudonym,
        anonymised_at=result.anonymised_at,
        rows=result.rows,
        already_anonymised=not made,
    )


@router.get(
    "/anonymization/stats",
    response_model=AnonymisationStatsOut,
    summary="How many users were anonymised, and the rows changed",
)
async def anonymization_stats(principal: PrincipalDep, uow: UowDep) -> AnonymisationStatsOut:
    """`recent` counts the last 30 days (from `since`)."""
    stats = await anonymisation_stats(uow, principal)
    return AnonymisationStatsOut(
        users=stats.users,
        since=stats.since,
        recent=stats.recent,
        last_at=stats.last_at,
        rows=stats.rows,
    )
