"""What console tests share: the session cookies' names, the CSRF token a page
carries, and an expired token signed with a server's own generated key."""

from __future__ import annotations

import hashlib
import secrets
import time
from pathlib import Path

import jwt

SESSION = "clarion_session"
REFRESH = "clarion_refresh"


def csrf_for(access_token: str) -> str:
    """What the console puts in its pages: a hash no other site can compute."""
    return hashlib.sha256(b"clarion-csrf:" + access_token.encode()).hexdigest()


def expired_access_token(workdir: Path, subject: str) -> str:
    """Signed with the server's own generated key, expired well past the leeway."""
    key = (workdir / ".clarion" / "jwt-secret").read_bytes().strip()
    now = int(time.time())
    claims = {
        "iss": "clarion",
        "aud": "clarion-api",
        "sub": subject,
        "iat": now - 600,
        "exp": now - 120,
        "jti": secrets.token_urlsafe(24),
        "typ": "access",
    }
    return jwt.encode(claims, key, algorithm="HS256")
