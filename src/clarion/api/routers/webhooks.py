"""Provider receipts: SendGrid's Event Webhook and Twilio's status callbacks.

Neither endpoint takes a Clarion credential: only the provider's signature lets a
request in, and a bearer token, even an admin's, opens nothing here. A webhook
whose verification key (SendGrid) or auth token (Twilio) is not configured
refuses every request with 403 `forbidden`: an unconfigured webhook never accepts
unsigned data. A missing or wrong signature is 403 `invalid_signature`; a valid
SendGrid signature whose timestamp is more than `receipt_max_age_seconds` away
from now, either way, is 403 `stale_signature`. A request that passes answers 200
with what became of its events; each event applies once, so a provider's
redelivery changes nothing. Bodies and addresses are never logged.
"""

from __future__ import annotations

import uuid
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel

from clarion.adapters.receipt_signatures import (
    sendgrid_public_key,
    verify_sendgrid,
    verify_twilio,
)
from clarion.api.deps import ContainerDep, UowDep
from clarion.api.openapi import errors
from clarion.domain.errors import Forbidden
from clarion.domain.receipts import Applied
from clarion.domain.time import utcnow
from clarion.observability.logging import get_logger
from clarion.ports import Cache, UnitOfWork
from clarion.services.cache_keys import forget_notifications
from clarion.services.receipts import Receipts, sendgrid_receipts, tally, twilio_receipts

# signed by the provider, not authenticated by a token: a bad signature is 403
router = APIRouter(prefix="/webhooks", tags=["webhooks"], responses=errors(403, 413))
log = get_logger(__name__)

SendGridSignature = Annotated[str | None, Header(alias="X-Twilio-Email-Event-Webhook-Signature")]
SendGridTimestamp = Annotated[str | None, Header(alias="X-Twilio-Email-Event-Webhook-Timestamp")]
TwilioSignature = Annotated[str | None, Header(alias="X-Twilio-Signature")]


class ReceiptCounts(BaseModel):
    applied: int
    duplicates: int
    unknown: int
    ignored: int


@router.post("/sendgrid", response_model=ReceiptCounts, summary="SendGrid Event Webhook")
async def sendgrid_events(
    request: Request,
    uow: UowDep,
    container: ContainerDep,
    signature: SendGridSignature = None,
    timestamp: SendGridTimestamp = None,
) -> ReceiptCounts:
    settings = container.settings
    if not settings.sendgrid_webhook_public_key:
        raise refused("sendgrid", Forbidden("The SendGrid Event Webhook is not configured."))
    try:
        key = sendgrid_public_key(settings.sendgrid_webhook_public_key)
    except ValueError:
        log.error("receipts.sendgrid.key_unusable")
        raise Forbidden("The SendGrid Event Webhook is not configured.") from None
    body = await request.body()
    now = utcnow()
    try:
        verify_sendgrid(
            key,
            signature=signature,
            timestamp=timestamp,
            body=body,
            now=now,
            max_age_seconds=settings.receipt_max_age_seconds,
        )
    except Forbidden as exc:
        raise refused("sendgrid", exc) from None
    return await apply_receipts(uow, container.cache, "sendgrid", sendgrid_receipts(body))


@router.post("/twilio", response_model=ReceiptCounts, summary="Twilio status callback")
async def twilio_status(
    request: Request,
    uow: UowDep,
    container: ContainerDep,
    signature: TwilioSignature = None,
) -> ReceiptCounts:
    settings = container.settings
    token = settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else ""
    if not token:
        raise refused("twilio", Forbidden("The Twilio status callback is not configured."))
    # Twilio sends UTF-8; anything else cannot carry a valid signature and fails below
    form = (await request.body()).decode("utf-8", "replace")
    params = dict(parse_qsl(form, keep_blank_values=True))
    # behind a proxy the request's own URL is not the one Twilio signed
    url = settings.twilio_status_callback_url or str(request.url)
    try:
        verify_twilio(token, url, params, signature or "")
    except Forbidden as exc:
        raise refused("twilio", exc) from None
    return await apply_receipts(uow, container.cache, "twilio", twilio_receipts(params))


def refused(provider: str, error: Forbidden) -> Forbidden:
    log.warning(f"receipts.{provider}.refused", code=error.code)
    return error


async def apply_receipts(
    uow: UnitOfWork, cache: Cache, provider: str, receipts: Receipts
) -> ReceiptCounts:
    """Each event once; the request's transaction commits them all together."""
    now = utcnow()
    outcomes: list[Applied] = []
    changed: dict[uuid.UUID, uuid.UUID] = {}
    for event in receipts.events:
        outcome = await uow.receipts.apply(event, now)
        outcomes.append(outcome.applied)
        applied = outcome.applied in {Applied.MOVED, Applied.RECORDED}
        if applied and outcome.notification_id and outcome.user_id:
            changed[outcome.notification_id] = outcome.user_id
    await uow.suppressions.suppress_emails(receipts.suppress, now)
    forget_when_committed(uow, cache, changed)
    counts = tally(outcomes, receipts.ignored)
    log.info(f"receipts.{provider}.applied", suppressed=len(receipts.suppress), **counts)
    return ReceiptCounts(**counts)


def forget_when_committed(
    uow: UnitOfWork, cache: Cache, changed: dict[uuid.UUID, uuid.UUID]
) -> None:
    """Drop the cached views (the notification, its owner's pages) of every
    notification a receipt changed, once the change is committed."""

    async def forget() -> None:
        await forget_notifications(cache, changed)

    if changed:
        uow.after_commit(forget)
