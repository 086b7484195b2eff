"""Sign-up, sign-in, token rotation and the principal behind a credential."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass

from clarion.domain.enums import Role
from clarion.domain.errors import Conflict, InvalidInput, Unauthorized
from clarion.domain.identity import Principal, RefreshToken, UserAccount
from clarion.domain.time import utcnow
from clarion.observability.logging import get_logger
from clarion.ports import UnitOfWork
from clarion.services.passwords import Passwords
from clarion.services.principals import PrincipalCache, UowFactory
from clarion.services.tokens import INVALID_TOKEN, IssuedToken, TokenService, TokenType

log = get_logger(__name__)
API_KEY_PREFIX = "clk_"
LOGIN_FAILED = "The email or password is incorrect."


class RefreshTokenReplayed(Unauthorized):
    """A spent refresh token came back: its whole family is revoked and stays so."""

    keeps_changes = True


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int


def normalise_email(email: str) -> str:
    return email.strip().lower()


def hash_api_key(presented: str) -> str:
    return hashlib.sha256(presented.encode()).hexdigest()


class AuthService:
    def __init__(
        self,
        *,
        passwords: Passwords,
        tokens: TokenService,
        min_password: int,
        principals: PrincipalCache,
    ) -> None:
        self.passwords = passwords
        self.tokens = tokens
        self.min_password = min_password
        self.principals = principals

    def check_password_rules(self, password: str) -> None:
        if len(password) < self.min_password:
            raise InvalidInput(
                "The password is too short.",
                details=[
                    {
                        "location": "body",
                        "field": "password",
                        "message": f"must have at least {self.min_password} characters",
                        "type": "string_too_short",
                    }
                ],
            )

    async def register(
        self, uow: UnitOfWork, *, email: str, password: str, name: str, role: Role = Role.USER
    ) -> UserAccount:
        self.check_password_rules(password)
        email = normalise_email(email)
        if await uow.users.get_by_email(email) is not None:
            raise Conflict("An account with this email already exists.")
        now = utcnow()
        user = UserAccount(
            id=uuid.uuid4(),
            email=email,
            name=name.strip(),
            role=role,
            password_hash=await self.passwords.hash(password),
            created_at=now,
            updated_at=now,
        )
        await uow.users.add(user)
        log.info("auth.user.registered", user_id=str(user.id), role=role.value)
        return user

    async def login(self, uow: UnitOfWork, *, email: str, password: str) -> TokenPair:
        user = await uow.users.get_by_email(normalise_email(email))
        # one path for unknown email and wrong password: same work, same message
        valid = await self.passwords.verify(user.password_hash if user else None, password)
        if user is None or not valid:
            log.info("auth.login.failed", known_account=user is not None)
            raise Unauthorized(LOGIN_FAILED)
        log.info("auth.login.succeeded", user_id=str(user.id))
        return await self._issue_pair(uow, user.id, family=uuid.uuid4())

    async def refresh(self, uow: UnitOfWork, refresh_token: str) -> TokenPair:
        claims = self.tokens.decode(refresh_token, "refresh")
        stored = await uow.refresh_tokens.get(claims["jti"])
        if stored is None or stored.revoked_at is not None:
            raise Unauthorized(INVALID_TOKEN, invalid_token=True)
        if not await uow.refresh_tokens.spend(stored.jti, utcnow()):
            await uow.refresh_tokens.revoke_family(stored.family_id, utcnow())
            log.warning(
                "auth.refresh.replayed", user_id=str(stored.user_id), family=str(stored.family_id)
            )
            raise RefreshTokenReplayed(
                "The refresh token was already used; sign in again.", invalid_token=True
            )
        if await uow.users.get(stored.user_id) is None:
            raise Unauthorized(INVALID_TOKEN, invalid_token=True)
        log.info("auth.token.refreshed", user_id=str(stored.user_id))
        return await self._issue_pair(uow, stored.user_id, family=stored.family_id)

    async def logout(self, uow: UnitOfWork, refresh_token: str) -> None:
        claims = self.tokens.decode(refresh_token, "refresh")
        stored = await uow.refresh_tokens.get(claims["jti"])
        if stored is not None:
            await uow.refresh_tokens.revoke_family(stored.family_id, utcnow())

    async def principal_for_access_token(self, uow_factory: UowFactory, token: str) -> Principal:
        return await self._principal_for(uow_factory, token, "access")

    def issue_stream_token(self, user_id: uuid.UUID) -> IssuedToken:
        return self.tokens.issue(user_id, "stream")

    async def principal_for_stream_token(self, uow_factory: UowFactory, token: str) -> Principal:
        """The live inbox stream's caller, from a token in its URL."""
        return await self._principal_for(uow_factory, token, "stream")

    async def _principal_for(
        self, uow_factory: UowFactory, token: str, token_type: TokenType
    ) -> Principal:
        claims = self.tokens.decode(token, token_type)
        # The role comes from the principal cache, dropped on every change, so a
        # deleted user, a changed role or a new password takes effect at once.
        user_id = uuid.UUID(claims["sub"])
        standing = await self.principals.standing(uow_factory, user_id)
        if standing is None or not standing.admits(int(claims["iat"])):
            raise Unauthorized(INVALID_TOKEN, invalid_token=True)
        return Principal(kind="user", id=user_id, role=standing.role)

    async def principal_for_api_key(self, uow_factory: UowFactory, presented: str) -> Principal:
        prefix = api_key_prefix(presented)
        key = await self.principals.api_key(uow_factory, prefix) if prefix else None
        if (
            key is None
            or not key.active
            or not hmac.compare_digest(key.secret_hash, hash_api_key(presented))
        ):
            raise Unauthorized("The API key is invalid or has been revoked.", invalid_token=True)
        return Principal(kind="api_key", id=key.id, scopes=key.scopes, rate_limit=key.rate_limit)

    async def _issue_pair(
        self, uow: UnitOfWork, user_id: uuid.UUID, *, family: uuid.UUID
    ) -> TokenPair:
        access = self.tokens.issue(user_id, "access")
        refresh = self.tokens.issue(user_id, "refresh", family=family)
        await uow.refresh_tokens.add(
            RefreshToken(
                jti=refresh.jti, user_id=user_id, family_id=family, expires_at=refresh.expires_at
            )
        )
        return TokenPair(access.token, refresh.token, self.tokens.access_ttl_seconds)


def api_key_prefix(presented: str) -> str | None:
    """`clk_<prefix>_<secret>` → `<prefix>`, or None when it is not shaped like a key."""
    if not presented.startswith(API_KEY_PREFIX):
        return None
    prefix, sep, secret = presented[len(API_KEY_PREFIX) :].partition("_")
    return prefix if sep and prefix and secret else None
