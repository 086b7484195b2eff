"""Reading and changing a user's preferences, and explaining what they decide."""

from __future__ import annotations

import uuid
from dataclasses import replace

from clarion.domain.enums import Channel, NotificationType
from clarion.domain.errors import InvalidInput, field_error
from clarion.domain.identity import Principal, RequestContext
from clarion.domain.preferences import STOP, Preferences, Verdict, apply, decide
from clarion.domain.time import utcnow
from clarion.ports import UnitOfWork
from clarion.services.users import audit_entry, visible_user

T = NotificationType


def checked(preferences: Preferences) -> Preferences:
    """Transactional notifications (a password reset, a receipt) cannot be turned
    off: saying so is a 422, not a setting that silently does nothing. Quiet
    hours need a time zone to be read in."""
    problems = [
        field_error("types.TRANSACTIONAL", "transactional notifications cannot be turned off")
        for type_ in preferences.types
        if type_ is T.TRANSACTIONAL
    ] + [
        field_error(
            f"typeChannels.TRANSACTIONAL.{channel.value}",
            "transactional notifications cannot be turned off",
        )
        for type_, channel in preferences.type_channels
        if type_ is T.TRANSACTIONAL
    ]
    if preferences.quiet_hours and not preferences.timezone:
        problems.append(field_error("timezone", "quiet hours need a time zone"))
    if problems:
        raise InvalidInput("These preferences cannot be set.", details=problems)
    return preferences


async def read(uow: UnitOfWork, principal: Principal, user_id: uuid.UUID) -> Preferences:
    """The user's own, or anyone's for an admin; others' look absent (404)."""
    await visible_user(uow, principal, user_id)
    return await uow.preferences.get(user_id)


async def replace_all(
    uow: UnitOfWork,
    principal: Principal,
    context: RequestContext,
    user_id: uuid.UUID,
    preferences: Preferences,
) -> Preferences:
    await visible_user(uow, principal, user_id)
    return await store(uow, principal, context, user_id, preferences)


async def store(
    uow: UnitOfWork,
    principal: Principal,
    context: RequestContext,
    user_id: uuid.UUID,
    preferences: Preferences,
) -> Preferences:
    """Save preferences the caller was found allowed to change (by `read`)."""
    await uow.preferences.save(user_id, checked(preferences), utcnow())
    if principal.user_id != user_id:  # an admin acting for someone is an admin action
        await uow.audit.record(
            audit_entry(principal, "preferences.update", "user", user_id, context)
        )
    return preferences


def merged(
    current: Preferences,
    channels: dict[Channel, bool | None],
    types: dict[NotificationType, bool | None],
    type_channels: dict[tuple[NotificationType, Channel], bool | None],
) -> Preferences:
    """A PATCH: the values given replace, a null removes the setting, the rest stay."""
    return replace(
        current,
        channels=apply(current.channels, channels),
        types=apply(current.types, types),
        type_channels=apply(current.type_channels, type_channels),
    )


async def explain(
    uow: UnitOfWork,
    principal: Principal,
    user_id: uuid.UUID,
    type_: NotificationType,
    channel: Channel,
) -> Verdict:
    """What the delivery pipeline would decide for a notification of this type
    on this channel to the user's own address, and which rule decides it."""
    user = await visible_user(uow, principal, user_id)
    suppressed = None
    if channel is Channel.SMS and user.phone and await uow.contacts.suppressed([user.phone]):
        suppressed = STOP
    if channel is Channel.EMAIL:
        bounced = await uow.suppressions.of_emails([user.email])
        if bounced:
            suppressed = f"{user.email}: {bounced[user.email]}"
    return decide(await uow.preferences.get(user_id), type_, channel, suppressed)
