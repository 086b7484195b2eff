"""Request and response bodies: camelCase JSON, unknown request fields rejected."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from limits import parse_many
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from clarion.domain.enums import Role
from clarion.domain.identity import ApiKey, Scope, UserAccount

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
Email = Annotated[str, Field(max_length=320, pattern=EMAIL_PATTERN)]
# argon2 cost grows with input; a cap keeps one request from buying a lot of CPU
Password = Annotated[str, Field(min_length=1, max_length=256)]
Name = Annotated[str, Field(min_length=1, max_length=200)]


def contains_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(contains_nul(k) or contains_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(contains_nul(v) for v in value)
    return False


E164 = Annotated[str, Field(pattern=r"^\+[1-9]\d{6,14}$")]
# FCM and APNs tokens are a few hundred characters; the unique index needs a bound
PushToken = Annotated[str, Field(min_length=1, max_length=1024)]


class RequestModel(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, str_strip_whitespace=False)

    @model_validator(mode="before")
    @classmethod
    def _no_nul_characters(cls, data: Any) -> Any:
        # PostgreSQL stores no U+0000 in text or JSON: refuse it on every backend alike
        if contains_nul(data):
            raise ValueError("text must not contain the NUL character (U+0000)")
        return data


class ResponseModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class RegisterRequest(RequestModel):
    email: Email
    password: Password
    name: Name


class LoginRequest(RequestModel):
    email: Annotated[str, Field(max_length=320)]
    password: Password


class RefreshRequest(RequestModel):
    refresh_token: Annotated[str, Field(min_length=1, max_length=4096)]


class TokenResponse(ResponseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105
    expires_in: int


class UserOut(ResponseModel):
    id: uuid.UUID
    email: str
    name: str
    role: Role
    phone: str | None = None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, user: UserAccount) -> UserOut:
        return cls(
            id=user.id,
            email=user.email,
            name=user.name,
            role=user.role,
            phone=user.phone,
            created_at=user.created_at,
            updated_at=user.updated_at,
        )


class UserPage(ResponseModel):
    items: list[UserOut]
    total: int
    offset: int
    limit: int


class UserUpdate(RequestModel):
    name: Name | None = None
    email: Email | None = None
    password: Password | None = None
    phone: E164 | Literal[""] | None = Field(
        default=None, description="E.164 number for SMS; an empty string removes it."
    )


class RoleChange(RequestModel):
    role: Role


def check_limits(value: str | None) -> str | None:
    if value is not None:
        try:
            parse_many(value)
        except ValueError:
            raise ValueError("must be limits like '100/second;5000/minute'") from None
    return value


class ApiKeyCreate(RequestModel):
    name: Name
    scopes: Annotated[list[Scope], Field(min_length=1)]
    rate_limit: Annotated[str | None, AfterValidator(check_limits)] = None


class ApiKeyOut(ResponseModel):
    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[Scope]
    rate_limit: str | None
    created_by: uuid.UUID | None
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyOut:
        return cls(
            id=key.id,
            name=key.name,
            prefix=key.prefix,
            scopes=sorted(key.scopes),
            rate_limit=key.rate_limit,
            created_by=key.created_by,
            created_at=key.created_at,
            revoked_at=key.revoked_at,
        )


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The secret. Shown only in this response; store it now.")


class PrincipalOut(ResponseModel):
    kind: Literal["api_key"]
    id: uuid.UUID
    scopes: list[Scope]
