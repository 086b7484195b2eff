"""Errors are types: each maps to one HTTP status in one handler at the edge."""

from __future__ import annotations

from typing import Any


def field_error(
    field: str, message: str, *, location: str = "body", kind: str = "value_error"
) -> dict[str, Any]:
    """One entry of an error's `details`: which field, where, and what is wrong."""
    return {"location": location, "field": field, "message": message, "type": kind}


class ClarionError(Exception):
    """Base of every error Clarion reports to a caller."""

    status = 400
    code = "bad_request"
    # True when the use case's writes must be committed even though it failed,
    # e.g. revoking a token family after a refresh token was replayed.
    keeps_changes = False

    def __init__(
        self,
        message: str,
        *,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []
        self.headers = headers or {}


class NotFound(ClarionError):
    status = 404
    code = "not_found"


class Conflict(ClarionError):
    status = 409
    code = "conflict"


class Unauthorized(ClarionError):
    """401 always carries a Bearer challenge (RFC 7235 §3.1); a credential that
    was sent and failed says so with `error="invalid_token"` (RFC 6750 §3)."""

    status = 401
    code = "unauthorized"

    def __init__(self, message: str, *, invalid_token: bool = False) -> None:
        challenge = 'Bearer realm="clarion"'
        if invalid_token:
            challenge += ', error="invalid_token"'
        super().__init__(message, headers={"WWW-Authenticate": challenge})


class Forbidden(ClarionError):
    status = 403
    code = "forbidden"


class InvalidInput(ClarionError):
    status = 422
    code = "validation_error"


class RateLimited(ClarionError):
    status = 429
    code = "rate_limited"
