"""Request and response bodies: camelCase JSON, unknown request fields rejected."""

from __future__ import annotations

import math
import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from limits import parse_many
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)
from pydantic.alias_generators import to_camel

from clarion.domain.enums import Role
from clarion.domain.identity import ApiKey, Scope, UserAccount
from clarion.domain.mailbox import mailbox_problem

# JSON nested deeper than this is refused before anything walks it
MAX_NESTING = 32


def one_mailbox(value: str) -> str:
    if problem := mailbox_problem(value):
        raise ValueError(f"must be one email address ({problem})")
    return value


Email = Annotated[
    str,
    Field(max_length=254, json_schema_extra={"format": "email"}),
    AfterValidator(one_mailbox),
]
# argon2 cost grows with input; a cap keeps one request from buying a lot of CPU
Password = Annotated[str, Field(min_length=1, max_length=256)]
# the least length is the server's setting; the OpenAPI document states it
NEW_PASSWORD_MARK = "x-clarion-new-password"  # noqa: S105 (a schema key)
NewPassword = Annotated[
    str, Field(min_length=1, max_length=256, json_schema_extra={NEW_PASSWORD_MARK: True})
]
Name = Annotated[str, Field(min_length=1, max_length=200)]
# offsets beyond this would only scan; the databases cannot take 2**63 at all
Offset = Annotated[int, Field(ge=0, le=1_000_000)]

RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})", re.ASCII
)


def rfc3339_text(value: Any) -> Any:
    """Times are RFC 3339 strings with an offset: no epoch numbers, no bare dates."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not RFC3339.fullmatch(value):
        raise ValueError("must be an RFC 3339 date-time with an offset, e.g. 2030-01-01T09:00:00Z")
    return value


def in_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is outside the range of representable times") from None


Moment = Annotated[AwareDatetime, BeforeValidator(rfc3339_text), AfterValidator(in_utc)]


def nesting_problem(value: Any, max_depth: int = MAX_NESTING) -> str | None:
    """Why a decoded JSON value is refused (a NUL character, nesting deeper than
    `max_depth`, NaN or an infinity), or None. Walks without recursion, so no
    depth can crash it."""
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                # PostgreSQL stores no U+0000 in text or JSON: refused on every backend
                return "text must not contain the NUL character (U+0000)"
        elif isinstance(item, dict | list | tuple):
            if depth >= max_depth:
                return f"must not nest objects and arrays more than {max_depth} levels deep"
            children = (
                [c for pair in item.items() for c in pair] if isinstance(item, dict) else item
            )
            pending.extend((child, depth + 1) for child in children)
        elif isinstance(item, float) and not math.isfinite(item):
            # Python's JSON reader takes NaN and Infinity; JSON has no such
            # numbers and PostgreSQL's jsonb refuses them: refused everywhere
            return "numbers must be finite (JSON has no NaN or Infinity)"
    return None


E164 = Annotated[str, Field(pattern=r"^\+[1-9]\d{6,14}$")]
LocaleTag = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z]{2,3}(-[A-Za-z]{4})?(-([A-Za-z]{2}|[0-9]{3}))?$",
        description="A BCP 47 tag such as en, fr or fr-BE.",
    ),
]
# FCM and APNs tokens are a few hundred characters; the unique index needs a bound
PushToken = Annotated[str, Field(min_length=1, max_length=1024)]


class PartModel(BaseModel):
    """A part of a request body (a payload), or a body whose parts are checked one
    by one (a batch): checked for nesting and NUL by the model that holds it."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, str_strip_whitespace=False)


class RequestModel(PartModel):
    """A request body: the whole of it is walked once for nesting and NUL."""

    @model_validator(mode="before")
    @classmethod
    def _bounded_and_without_nul(cls, data: Any) -> Any:
        if problem := nesting_problem(data):
            raise ValueError(problem)
        return data


class ResponseModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class RegisterRequest(RequestModel):
    email: Email
    password: NewPassword
    name: Name


class UserCreate(RegisterRequest):
    phone: E164 | None = None


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
    locale: str | None = None
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
            locale=user.locale,
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
    password: NewPassword | None = None
    current_password: Password | None = Field(
        default=None,
        description="Your present password: needed to change your own email or password "
        "(an admin changing someone else's account does not give theirs).",
    )
    phone: E164 | Literal[""] | None = Field(
        default=None, description="E.164 number for SMS; an empty string removes it."
    )
    locale: LocaleTag | Literal[""] | None = Field(
        default=None,
        description="BCP 47 tag templates are rendered in (fr-BE falls back to fr, then to "
        "the template's default); an empty string removes it.",
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


# what `limits` parses, stated for the document: "100/second;5000/minute", "10 per 2 hours"
TIER = r"[1-9][0-9]{0,8} ?(/|per) ?([1-9][0-9]{0,4} )?(second|minute|hour|day|month|year)s?"
LIMITS_PATTERN = rf"^{TIER}(;{TIER})*$"


class ApiKeyCreate(RequestModel):
    name: Name
    scopes: Annotated[list[Scope], Field(min_length=1)]
    rate_limit: Annotated[
        str | None,
        Field(max_length=200, pattern=LIMITS_PATTERN),
        AfterValidator(check_limits),
    ] = None


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
