"""Accounts, API keys and the principal a request acts as."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from clarion.domain.enums import Role


class Scope(StrEnum):
    NOTIFICATIONS_WRITE = "notifications:write"
    NOTIFICATIONS_READ = "notifications:read"
    TEMPLATES_WRITE = "templates:write"
    ADMIN = "admin"


@dataclass
class UserAccount:
    id: uuid.UUID
    email: str
    name: str
    role: Role
    password_hash: str
    created_at: datetime
    updated_at: datetime
    phone: str | None = None  # E.164; where SMS goes when a notification names no number
    # access tokens issued before this moment are refused: a new password ends them
    sessions_valid_after: datetime | None = None
    locale: str | None = None  # BCP 47: the language templates are rendered in

    def public(self) -> dict[str, Any]:
        """What may leave the service: never the hash."""
        return {
            "id": str(self.id),
            "email": self.email,
            "name": self.name,
            "role": self.role.value,
            "phone": self.phone,
            "locale": self.locale,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        }


@dataclass
class ApiKey:
    id: uuid.UUID
    name: str
    prefix: str
    secret_hash: str
    scopes: frozenset[Scope]
    created_by: uuid.UUID | None
    created_at: datetime
    rate_limit: str | None = None
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def public(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "prefix": self.prefix,
            "scopes": sorted(scope.value for scope in self.scopes),
            "rateLimit": self.rate_limit,
            "createdBy": str(self.created_by) if self.created_by else None,
            "createdAt": self.created_at,
            "revokedAt": self.revoked_at,
        }


@dataclass
class RefreshToken:
    """One refresh token in a rotation family; reusing a spent one burns the family."""

    jti: str
    user_id: uuid.UUID
    family_id: uuid.UUID
    expires_at: datetime
    used_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: a signed-in user or a service's API key."""

    kind: str  # "user" or "api_key"
    id: uuid.UUID
    role: Role | None = None
    scopes: frozenset[Scope] = field(default_factory=frozenset)
    rate_limit: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN or Scope.ADMIN in self.scopes

    @property
    def user_id(self) -> uuid.UUID | None:
        return self.id if self.kind == "user" else None

    def may(self, scope: Scope) -> bool:
        """Users act within their own data; keys hold exactly the scopes granted."""
        if self.is_admin:
            return True
        return self.kind == "user" or scope in self.scopes


@dataclass(frozen=True)
class RequestContext:
    """Where a request came from, for the audit trail and per-IP limits."""

    ip_address: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True)
class AuditEntry:
    action: str
    actor_id: uuid.UUID | None
    entity_type: str | None = None
    entity_id: str | None = None
    changes: dict[str, Any] | None = None
    context: RequestContext = field(default_factory=RequestContext)
