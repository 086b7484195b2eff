"""`/auth`: register, login, refresh, logout, me."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from clarion.api.deps import ContainerDep, PrincipalDep, UowDep, auth_endpoint_limit
from clarion.api.openapi import errors
from clarion.api.schemas import (
    LoginRequest,
    PrincipalOut,
    RefreshRequest,
    RegisterRequest,
    TokenResponse,
    UserOut,
)
from clarion.config import Registration
from clarion.domain.errors import Forbidden, NotFound
from clarion.services.auth import TokenPair

# every route here is limited per IP, authenticated or not
router = APIRouter(prefix="/auth", tags=["auth"], responses=errors(429))
AuthLimit = Annotated[None, Depends(auth_endpoint_limit)]


def tokens(pair: TokenPair, response: Response) -> TokenResponse:
    response.headers["Cache-Control"] = "no-store"
    return TokenResponse(
        access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in
    )


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=UserOut,
    responses=errors(403, 409),
    summary="Open an account (when CLARION_REGISTRATION is open)",
)
async def register(
    body: RegisterRequest, container: ContainerDep, uow: UowDep, _limit: AuthLimit
) -> UserOut:
    if container.settings.registration is not Registration.OPEN:
        raise Forbidden("Registration is closed: an administrator opens accounts.")
    user = await container.auth.register(
        uow, email=body.email, password=body.password, name=body.name
    )
    return UserOut.of(user)


@router.post("/login", response_model=TokenResponse, responses=errors(401))
async def login(
    body: LoginRequest, container: ContainerDep, uow: UowDep, response: Response, _limit: AuthLimit
) -> TokenResponse:
    pair = await container.auth.login(uow, email=body.email, password=body.password)
    return tokens(pair, response)


@router.post("/refresh", response_model=TokenResponse, responses=errors(401))
async def refresh(
    body: RefreshRequest,
    container: ContainerDep,
    uow: UowDep,
    response: Response,
    _limit: AuthLimit,
) -> TokenResponse:
    pair = await container.auth.refresh(uow, body.refresh_token)
    return tokens(pair, response)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=errors(401))
async def logout(
    body: RefreshRequest, container: ContainerDep, uow: UowDep, _limit: AuthLimit
) -> None:
    await container.auth.logout(uow, body.refresh_token)


@router.get("/me", response_model=UserOut | PrincipalOut, responses=errors(404))
async def me(principal: PrincipalDep, uow: UowDep) -> UserOut | PrincipalOut:
    if principal.user_id is None:
        return PrincipalOut(kind="api_key", id=principal.id, scopes=sorted(principal.scopes))
    user = await uow.users.get(principal.user_id)
    if user is None:
        raise NotFound("No such user.")
    return UserOut.of(user)
