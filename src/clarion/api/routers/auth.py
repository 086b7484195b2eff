"""`/auth`: register, login, refresh, logout, me."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from clarion.api.deps import ContainerDep, PrincipalDep, UowDep, auth_endpoint_limit
from clarion.api.schemas import (
    LoginRequest,
    PrincipalOut,
    RefreshRequest,
    RegisterRequest,
    TokenResponse,
    UserOut,
)
from clarion.domain.errors import NotFound
from clarion.services.auth import TokenPair

router = APIRouter(prefix="/auth", tags=["auth"])
AuthLimit = Annotated[None, Depends(auth_endpoint_limit)]


def tokens(pair: TokenPair, response: Response) -> TokenResponse:
    response.headers["Cache-Control"] = "no-store"
    return TokenResponse(
        access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in
    )


@router.post("/register", status_code=status.HTTP_201_CREATED, response_model=UserOut)
async def register(
    body: RegisterRequest, container: ContainerDep, uow: UowDep, _limit: AuthLimit
) -> UserOut:
    user = await container.auth.register(
        uow, email=body.email, password=body.password, name=body.name
    )
    return UserOut.of(user)


@router.post("/login", response_model=TokenResponse)
async def login(
    body: LoginRequest, container: ContainerDep, uow: UowDep, response: Response, _limit: AuthLimit
) -> TokenResponse:
    pair = await container.auth.login(uow, email=body.email, password=body.password)
    return tokens(pair, response)


@router.post("/refresh", response_model=TokenResponse)
async def refresh(
    body: RefreshRequest,
    container: ContainerDep,
    uow: UowDep,
    response: Response,
    _limit: AuthLimit,
) -> TokenResponse:
    pair = await container.auth.refresh(uow, body.refresh_token)
    return tokens(pair, response)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(
    body: RefreshRequest, container: ContainerDep, uow: UowDep, _limit: AuthLimit
) -> None:
    await container.auth.logout(uow, body.refresh_token)


@router.get("/me", response_model=UserOut | PrincipalOut)
async def me(principal: PrincipalDep, uow: UowDep) -> UserOut | PrincipalOut:
    if principal.user_id is None:
        return PrincipalOut(kind="api_key", id=principal.id, scopes=sorted(principal.scopes))
    user = await uow.users.get(principal.user_id)
    if user is None:
        raise NotFound("No such user.")
    return UserOut.of(user)
