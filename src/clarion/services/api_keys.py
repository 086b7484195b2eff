"""API keys for backend services: created by admins, shown once, stored hashed."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import replace

from clarion.domain.errors import NotFound
from clarion.domain.identity import ApiKey, Principal, RequestContext, Scope
from clarion.domain.time import utcnow
from clarion.ports import UnitOfWork
from clarion.services.auth import API_KEY_PREFIX, hash_api_key
from clarion.services.users import audit_entry, require_admin


async def create_api_key(
    uow: UnitOfWork,
    principal: Principal,
    *,
    name: str,
    scopes: frozenset[Scope],
    rate_limit: str | None,
    context: RequestContext,
) -> tuple[ApiKey, str]:
    """The stored key and its secret; the secret is never retrievable again."""
    require_admin(principal)
    prefix = secrets.token_hex(6)
    secret = f"{API_KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(
        id=uuid.uuid4(),
        name=name.strip(),
        prefix=prefix,
        secret_hash=hash_api_key(secret),
        scopes=scopes,
        created_by=principal.user_id,
        created_at=utcnow(),
        rate_limit=rate_limit,
    )
    await uow.api_keys.add(key)
    await uow.audit.record(
        audit_entry(
            principal,
            "api_key.create",
            "api_key",
            key.id,
            context,
            after={"name": key.name, "scopes": sorted(scopes), "rateLimit": rate_limit},
        )
    )
    return key, secret


async def list_api_keys(uow: UnitOfWork, principal: Principal) -> Sequence[ApiKey]:
    require_admin(principal)
    return await uow.api_keys.list()


async def revoke_api_key(
    uow: UnitOfWork, principal: Principal, key_id: uuid.UUID, context: RequestContext
) -> ApiKey:
    require_admin(principal)
    key = await uow.api_keys.get(key_id)
    if key is None:
        raise NotFound("No such API key.")
    if key.revoked_at is not None:
        return key
    revoked = replace(key, revoked_at=utcnow())
    await uow.api_keys.save(revoked)
    await uow.audit.record(
        audit_entry(principal, "api_key.revoke", "api_key", key.id, context, name=key.name)
    )
    return revoked
