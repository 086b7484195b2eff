"""Anonymising a user: an erasure request honoured without losing statistics.
The account stays (signed out, unable to sign in) under a stable pseudonym;
its notifications keep their channel, type, status and times."""

from __future__ import annotations

import uuid
from datetime import timedelta

from clarion.domain.anonymise import AnonymisationStats, Anonymised, pseudonym_of
from clarion.domain.enums import Role
from clarion.domain.errors import Conflict, NotFound
from clarion.domain.identity import Principal, RequestContext
from clarion.domain.time import utcnow
from clarion.ports import Cache, UnitOfWork
from clarion.services.cache_keys import forget_notifications
from clarion.services.principals import PrincipalCache
from clarion.services.users import audit_entry, require_admin

STATS_WINDOW = timedelta(days=30)


async def anonymise_user(
    uow: UnitOfWork,
    principals: PrincipalCache,
    cache: Cache,
    principal: Principal,
    user_id: uuid.UUID,
    context: RequestContext,
) -> tuple[Anonymised, bool]:
    """The anonymisation, and whether this call made it (False: done before)."""
    require_admin(principal)
    done = await uow.anonymisations.get(user_id)
    if done is not None:
        return done, False
    user = await uow.users.get(user_id)
    if user is None:
        raise NotFound("No such user.")
    if user.role is Role.ADMIN:
        raise Conflict("An administrator cannot be anonymised; change their role first.")
    pseudonym = pseudonym_of(user.id)
    result = await uow.anonymisations.anonymise(user, pseudonym, principal.user_id, utcnow())
    prefixes = await uow.anonymisations.revoked_prefixes(user.id)
    owners = dict.fromkeys(await uow.anonymisations.notification_ids(user.id), user.id)
    principals.forget_user(uow, user.id)
    for prefix in prefixes:
        principals.forget_api_key(uow, prefix)

    async def forget_cached_views() -> None:
        await forget_notifications(cache, owners)

    uow.after_commit(forget_cached_views)
    await uow.audit.record(
        audit_entry(
            principal,
            "user.anonymise",
            "user",
            user.id,
            context,
            pseudonym=pseudonym,
            rows=result.rows,
        )
    )
    return result, True


async def anonymisation_stats(uow: UnitOfWork, principal: Principal) -> AnonymisationStats:
    require_admin(principal)
    return await uow.anonymisations.stats(utcnow() - STATS_WINDOW)
