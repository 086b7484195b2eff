"""Account management: read, update, delete, and role changes by admins."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace

from clarion.domain.enums import Role
from clarion.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, field_error
from clarion.domain.identity import AuditEntry, Principal, RequestContext, UserAccount
from clarion.domain.templates import normal_locale
from clarion.domain.time import utcnow
from clarion.ports import UnitOfWork
from clarion.services.auth import AuthService, normalise_email


def require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("This needs an administrator.")


def audit_entry(
    principal: Principal,
    action: str,
    entity_type: str,
    entity_id: uuid.UUID,
    context: RequestContext,
    **changes: object,
) -> AuditEntry:
    actor = {"actorKind": principal.kind, "actorId": str(principal.id)}
    return AuditEntry(
        action=action,
        actor_id=principal.user_id,
        entity_type=entity_type,
        entity_id=str(entity_id),
        changes={**actor, **changes},
        context=context,
    )


async def create_user(
    uow: UnitOfWork,
    auth: AuthService,
    principal: Principal,
    context: RequestContext,
    *,
    email: str,
    password: str,
    name: str,
    phone: str | None,
) -> UserAccount:
    """An admin opens an account (the way in when registration is closed)."""
    require_admin(principal)
    user = await auth.register(uow, email=email, password=password, name=name)
    if phone:
        user = replace(user, phone=phone)
        await uow.users.save(user)
    await uow.audit.record(
        audit_entry(principal, "user.create", "user", user.id, context, after={"role": "USER"})
    )
    return user


async def visible_user(uow: UnitOfWork, principal: Principal, user_id: uuid.UUID) -> UserAccount:
    """The account, if the principal may see it; others' accounts look absent."""
    if not principal.is_admin and principal.user_id != user_id:
        raise NotFound("No such user.")
    user = await uow.users.get(user_id)
    if user is None:
        raise NotFound("No such user.")
    return user


async def list_users(
    uow: UnitOfWork, principal: Principal, *, search: str | None, offset: int, limit: int
) -> tuple[Sequence[UserAccount], int]:
    require_admin(principal)
    return await uow.users.page(search=search, offset=offset, limit=limit)


async def update_user(
    uow: UnitOfWork,
    auth: AuthService,
    principal: Principal,
    user_id: uuid.UUID,
    context: RequestContext,
    *,
    name: str | None = None,
    email: str | None = None,
    password: str | None = None,
    phone: str | None = None,
    locale: str | None = None,
    current_password: str | None = None,
) -> UserAccount:
    user = await visible_user(uow, principal, user_id)
    email_changes = email is not None and normalise_email(email) != user.email
    if principal.user_id == user.id and (password is not None or email_changes):
        # a stolen token must not be enough to take the account for good
        await confirm_current_password(auth, user, current_password)
    changed = replace(user, updated_at=utcnow())
    if name is not None:
        changed.name = name.strip()
    if email is not None and email_changes:
        if await uow.users.get_by_email(normalise_email(email)) is not None:
            raise Conflict("An account with this email already exists.")
        changed.email = normalise_email(email)
    if phone is not None:
        changed.phone = phone or None
    if locale is not None:
        changed.locale = normal_locale(locale) if locale else None
    if password is not None:
        auth.check_password_rules(password)
        changed.password_hash = await auth.passwords.hash(password)
        # a new password signs out every session that used the old one: refresh
        # tokens now, and access tokens issued before this second (a token's
        # `iat` is in whole seconds)
        now = utcnow()
        await uow.refresh_tokens.revoke_user(user.id, now)
        changed.sessions_valid_after = now.replace(microsecond=0)
    await uow.users.save(changed)
    if principal.user_id != user.id:
        # an admin acting on someone else's account is an admin action
        fields = [f for f, v in (("name", name), ("email", email), ("password", password)) if v]
        await uow.audit.record(
            audit_entry(
                principal,
                "user.update",
                "user",
                user.id,
                context,
                fields=fields,
                before={"email": user.email, "name": user.name},
                after={"email": changed.email, "name": changed.name},
            )
        )
    return changed


async def confirm_current_password(auth: AuthService, user: UserAccount, given: str | None) -> None:
    if given is None:
        message = "needed to change your own email or password"
        raise InvalidInput(
            "Give your current password to change your email or password.",
            details=[field_error("currentPassword", message)],
        )
    if not await auth.passwords.verify(user.password_hash, given):
        raise Forbidden("The current password is not correct.")


async def delete_user(
    uow: UnitOfWork, principal: Principal, user_id: uuid.UUID, context: RequestContext
) -> None:
    user = await visible_user(uow, principal, user_id)
    if user.role is Role.ADMIN:
        if not await uow.users.delete_admin(user.id):
            raise Conflict("The last administrator cannot be deleted.")
    else:
        await uow.users.delete(user.id)
    entry = audit_entry(
        principal, "user.delete", "user", user.id, context, before={"email": user.email}
    )
    if principal.user_id == user.id:
        # the account is gone: the entry names its actor in `changes` only
        entry = replace(entry, actor_id=None)
    await uow.audit.record(entry)


async def change_role(
    uow: UnitOfWork, principal: Principal, user_id: uuid.UUID, role: Role, context: RequestContext
) -> UserAccount:
    require_admin(principal)
    user = await uow.users.get(user_id)
    if user is None:
        raise NotFound("No such user.")
    changed = replace(user, role=role, updated_at=utcnow())
    if user.role is Role.ADMIN and role is not Role.ADMIN:
        if not await uow.users.demote_admin(user.id, role, changed.updated_at):
            raise Conflict("The last administrator cannot lose the role.")
    else:
        await uow.users.save(changed)
    await uow.audit.record(
        audit_entry(
            principal,
            "user.role.change",
            "user",
            user.id,
            context,
            before={"role": user.role.value},
            after={"role": role.value},
        )
    )
    return changed
