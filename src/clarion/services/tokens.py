"""JWT access and refresh tokens (RFC 8725): one pinned algorithm, every claim required."""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import jwt

from clarion.domain.errors import Unauthorized
from clarion.domain.time import utcnow

# "stream": a short-lived token for a browser's EventSource, which cannot send
# headers; it opens the live inbox stream and nothing else
TokenType = Literal["access", "refresh", "stream"]
STREAM_TTL = timedelta(seconds=60)
INVALID_TOKEN = "The token is invalid or has expired."  # noqa: S105 (a message)
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub", "jti", "typ"]
LEEWAY = 5  # seconds of clock skew allowed on exp and iat, by default
VERIFIED_KEPT = 4096  # access tokens whose signature this process has checked


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
        leeway: int = LEEWAY,
    ) -> None:
        self._keys = keys
        self._leeway = leeway
        self._issuer = issuer
        self._audience = audience
        self._ttl = {"access": access_ttl, "refresh": refresh_ttl, "stream": STREAM_TTL}
        self._clock = clock
        # token → its verified claims. A token is checked once; later requests
        # with it only check that it has not expired since, as PyJWT would.
        self._verified: dict[str, dict[str, Any]] = {}

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
        claims = self._verified.get(token)
        if claims is None or time.time() > claims["exp"] + self._leeway:
            self._verified.pop(token, None)
            claims = self._verify(token)
            if claims["typ"] == "access":
                self._keep(token, claims)
        if claims["typ"] != expected:
            raise Unauthorized(INVALID_TOKEN, invalid_token=True)
        return claims

    def _verify(self, token: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._keys.verification_key,
                algorithms=[self._keys.algorithm],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": REQUIRED_CLAIMS},
                leeway=self._leeway,
            )
            uuid.UUID(claims["sub"])
        except (jwt.InvalidTokenError, ValueError):
            raise Unauthorized(INVALID_TOKEN, invalid_token=True) from None
        return claims

    def _keep(self, token: str, claims: dict[str, Any]) -> None:
        if len(self._verified) >= VERIFIED_KEPT:
            del self._verified[next(iter(self._verified))]  # the oldest
        self._verified[token] = claims
