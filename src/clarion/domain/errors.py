"""Errors are types: each maps to one HTTP status in one handler at the edge."""

from __future__ import annotations

from typing import Any


class ClarionError(Exception):
    """Base of every error Clarion reports to a caller."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class NotFound(ClarionError):
    status = 404
    code = "not_found"


class Conflict(ClarionError):
    status = 409
    code = "conflict"


class Unauthorized(ClarionError):
    status = 401
    code = "unauthorized"


class Forbidden(ClarionError):
    status = 403
    code = "forbidden"


class InvalidInput(ClarionError):
    status = 422
    code = "validation_error"
