"""`/admin/suppressions`: addresses nothing is sent to, listed and lifted by admins."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from clarion.api.deps import ContextDep, PrincipalDep, ReadUowDep, UowDep
from clarion.api.schemas import ResponseModel
from clarion.domain.contacts import Suppression
from clarion.domain.errors import NotFound
from clarion.services.users import audit_entry, require_admin

router = APIRouter(prefix="/admin/suppressions", tags=["admin"])
Kind = Literal["EMAIL", "SMS"]


class SuppressionOut(ResponseModel):
    channel: str
    address: str
    reason: str
    created_at: datetime

    @classmethod
    def of(cls, found: Suppression) -> SuppressionOut:
        return cls(
            channel=found.channel,
            address=found.address,
            reason=found.reason,
            created_at=found.created_at,
        )


@router.get("", response_model=list[SuppressionOut], summary="Suppressed addresses, newest first")
async def list_suppressions(
    principal: PrincipalDep,
    uow: ReadUowDep,
    channel: Kind = "EMAIL",
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[SuppressionOut]:
    """EMAIL: hard bounces, drops and spam complaints from the receipts; SMS:
    numbers that replied STOP."""
    require_admin(principal)
    found = await uow.suppressions.page(channel, offset=offset, limit=limit)
    return [SuppressionOut.of(s) for s in found]


@router.delete(
    "/{channel}/{address}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Send to an address again (audited)",
)
async def lift_suppression(
    channel: Kind, address: str, principal: PrincipalDep, uow: UowDep, context: ContextDep
) -> Response:
    require_admin(principal)
    if not await uow.suppressions.lift(channel, address):
        raise NotFound("That address is not suppressed.")
    entity = uuid.uuid5(uuid.NAMESPACE_URL, f"clarion:suppression:{channel}:{address.lower()}")
    await uow.audit.record(
        audit_entry(principal, "suppression.lift", "suppression", entity, context, channel=channel)
    )
    return Response(status_code=204)
