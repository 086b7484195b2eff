"""The first administrator: from settings, or with a generated password shown once."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from clarion.domain.enums import Role
from clarion.ports import UnitOfWork
from clarion.services.auth import AuthService

DEFAULT_ADMIN_EMAIL = "admin@clarion.local"


@dataclass(frozen=True)
class FirstAdmin:
    email: str
    generated_password: str | None


async def ensure_first_admin(
    uow: UnitOfWork, auth: AuthService, *, email: str | None, password: str | None
) -> FirstAdmin | None:
    """Create an admin when there is none; None when one already exists."""
    if await uow.users.count_admins() > 0:
        return None
    generated = None if password else secrets.token_urlsafe(18)
    user = await auth.register(
        uow,
        email=email or DEFAULT_ADMIN_EMAIL,
        password=password or generated or "",
        name="Administrator",
        role=Role.ADMIN,
    )
    return FirstAdmin(email=user.email, generated_password=generated)
