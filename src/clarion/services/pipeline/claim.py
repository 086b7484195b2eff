"""Stage 1, claim: take ownership of a batch's rows, with what addressing needs."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from clarion.domain.content import content_of, explicit_address, is_templated
from clarion.domain.enums import Channel
from clarion.domain.pipeline import Claimed
from clarion.domain.preferences import STOP
from clarion.ports import UnitOfWork


async def claim(
    uow_factory: Callable[[], UnitOfWork], ids: Sequence[uuid.UUID], claimed_at: datetime
) -> list[Claimed]:
    """PENDING → PROCESSING for the rows no one else holds (one conditional
    update for the batch, committed before anything is sent), then the push
    tokens and SMS suppressions the claimed rows need, read in two queries."""
    async with uow_factory() as uow:
        claimed = await uow.notifications.claim(ids, claimed_at)
        return await with_contacts(uow, claimed)


async def with_contacts(uow: UnitOfWork, claimed: list[Claimed]) -> list[Claimed]:
    """Add what sending needs beyond the claim: the content of a notification
    that carries its own, the user's push tokens for a push without its own
    token, and whether an SMS number or an email address is suppressed (one
    query each for the batch, none when the batch has no such channel)."""
    push_users = {
        c.record.user_id
        for c in claimed
        if c.record.channel is Channel.PUSH and not explicit_address(Channel.PUSH, c.record.payload)
    }
    tokens = await uow.contacts.tokens_for(push_users)
    numbers = {sms_number(c) for c in claimed if c.record.channel is Channel.SMS} - {""}
    stopped = await uow.contacts.suppressed(numbers)
    addresses = {email_address(c) for c in claimed if c.record.channel is Channel.EMAIL}
    bounced = await uow.suppressions.of_emails(addresses)
    enriched = []
    for c in claimed:
        record = c.record
        found: dict[str, Any] = {}  # one copy per notification, whatever it gains
        if not is_templated(record.payload):  # else the render stage gives it content
            found["content"] = content_of(record.channel, record.payload)
        if record.channel is Channel.PUSH and record.user_id in tokens:
            found["devices"] = tokens[record.user_id]
        elif record.channel is Channel.SMS and sms_number(c) in stopped:
            found["suppressed"] = STOP
        elif record.channel is Channel.EMAIL and (address := email_address(c)) in bounced:
            found["suppressed"] = f"{address}: {bounced[address]}"
        enriched.append(replace(c, **found) if found else c)
    return enriched


def email_address(claimed: Claimed) -> str:
    return explicit_address(Channel.EMAIL, claimed.record.payload) or claimed.user_email


def sms_number(claimed: Claimed) -> str:
    return explicit_address(Channel.SMS, claimed.record.payload) or claimed.phone or ""
