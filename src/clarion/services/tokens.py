"""JWT access and refresh tokens (RFC 8725): one pinned algorithm, every claim required."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import jwt

from clarion.domain.errors import Unauthorized
from clarion.domain.time import utcnow

TokenType = Literal["access", "refresh"]
INVALID_TOKEN = "The token is invalid or has expired."  # noqa: S105 (a message)
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub", "jti", "typ"]


@dataclass(frozen=True)
class TokenKeys:
    algorithm: str
    signing_key: Any
    verification_key: Any


@dataclass(frozen=True)
class IssuedToken:
    token: str
    jti: str
    expires_at: datetime


class TokenService:
    def __init__(
        self,
        *,
        keys: TokenKeys,
        issuer: str,
        audience: str,
        access_ttl: timedelta,
        refresh_ttl: timedelta,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._ttl = {"access": access_ttl, "refresh": refresh_ttl}
        self._clock = clock

    @property
    def access_ttl_seconds(self) -> int:
        return int(self._ttl["access"].total_seconds())

    def issue(
        self, subject: uuid.UUID, token_type: TokenType, *, family: uuid.UUID | None = None
    ) -> IssuedToken:
        now = self._clock()
        expires_at = now + self._ttl[token_type]
        jti = secrets.token_urlsafe(24)
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": str(subject),
            "iat": int(now.timestamp()),
            "exp": int(expires_at.timestamp()),
            "jti": jti,
            "typ": token_type,
        }
        if family is not None:
            claims["fam"] = str(family)
        token = jwt.encode(claims, self._keys.signing_key, algorithm=self._keys.algorithm)
        return IssuedToken(token=token, jti=jti, expires_at=expires_at)

    def decode(self, token: str, expected: TokenType) -> dict[str, Any]:
        """The verified claims, or Unauthorized with one message for every failure."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._keys.verification_key,
                algorithms=[self._keys.algorithm],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": REQUIRED_CLAIMS},
                leeway=5,
            )
            uuid.UUID(claims["sub"])
        except (jwt.InvalidTokenError, ValueError):
            raise Unauthorized(INVALID_TOKEN, invalid_token=True) from None
        if claims["typ"] != expected:
            raise Unauthorized(INVALID_TOKEN, invalid_token=True)
        return claims
