"""Access tokens: a token this process has verified before is still refused
once it expires, and a token altered by one character is refused even right
after the original was accepted."""

import time
import uuid
from datetime import timedelta

import pytest

from clarion.domain.errors import Unauthorized
from clarion.services.tokens import TokenKeys, TokenService

KEYS = TokenKeys("HS256", "s" * 64, "s" * 64)


def service(ttl: timedelta) -> TokenService:
    return TokenService(
        keys=KEYS,
        issuer="clarion",
        audience="clarion-api",
        access_ttl=ttl,
        refresh_ttl=timedelta(days=1),
        leeway=0,
    )


def test_a_token_accepted_before_is_refused_once_it_expires() -> None:
    tokens = service(timedelta(seconds=2))
    user = uuid.uuid4()
    issued = tokens.issue(user, "access")
    assert tokens.decode(issued.token, "access")["sub"] == str(user)
    assert tokens.decode(issued.token, "access")["sub"] == str(user)
    time.sleep(max(0.0, issued.expires_at.timestamp() - time.time()) + 0.2)
    with pytest.raises(Unauthorized):
        tokens.decode(issued.token, "access")


def test_an_altered_token_is_refused_after_the_original_was_accepted() -> None:
    tokens = service(timedelta(minutes=5))
    issued = tokens.issue(uuid.uuid4(), "access")
    tokens.decode(issued.token, "access")
    head, body, signature = issued.token.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    with pytest.raises(Unauthorized):
        tokens.decode(f"{head}.{body}.{flipped}", "access")


def test_an_access_token_is_not_a_refresh_token_even_once_verified() -> None:
    tokens = service(timedelta(minutes=5))
    issued = tokens.issue(uuid.uuid4(), "access")
    tokens.decode(issued.token, "access")
    with pytest.raises(Unauthorized):
        tokens.decode(issued.token, "refresh")
