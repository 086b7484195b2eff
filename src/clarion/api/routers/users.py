"""`/users`: accounts, seen by their owner or an admin."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from clarion.api.deps import ContainerDep, ContextDep, PrincipalDep, UowDep
from clarion.api.openapi import errors
from clarion.api.schemas import Offset, UserOut, UserPage, UserUpdate
from clarion.services import users
from clarion.services.cache_keys import user_tag

router = APIRouter(prefix="/users", tags=["users"])


@router.get("", response_model=UserPage, summary="List users (admin)")
async def list_users(
    principal: PrincipalDep,
    uow: UowDep,
    search: Annotated[str | None, Query(max_length=200)] = None,
    offset: Annotated[Offset, Query()] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> UserPage:
    found, total = await users.list_users(uow, principal, search=search, offset=offset, limit=limit)
    return UserPage(items=[UserOut.of(u) for u in found], total=total, offset=offset, limit=limit)


@router.get("/{user_id}", response_model=UserOut)
async def get_user(user_id: uuid.UUID, principal: PrincipalDep, uow: UowDep) -> UserOut:
    return UserOut.of(await users.visible_user(uow, principal, user_id))


@router.patch(
    "/{user_id}",
    response_model=UserOut,
    summary="Update name, email, password, phone or locale",
    responses=errors(409),
)
async def update_user(
    user_id: uuid.UUID,
    body: UserUpdate,
    principal: PrincipalDep,
    uow: UowDep,
    container: ContainerDep,
    context: ContextDep,
) -> UserOut:
    user = await users.update_user(
        uow,
        container.auth,
        principal,
        user_id,
        context,
        name=body.name,
        email=body.email,
        password=body.password,
        phone=body.phone,
        locale=body.locale,
        current_password=body.current_password,
    )
    if body.password is not None:
        container.auth.principals.forget_user(uow, user_id)
    return UserOut.of(user)


@router.delete("/{user_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(409))
async def delete_user(
    user_id: uuid.UUID,
    principal: PrincipalDep,
    uow: UowDep,
    context: ContextDep,
    container: ContainerDep,
) -> None:
    await users.delete_user(uow, principal, user_id, context)
    container.auth.principals.forget_user(uow, user_id)

    async def forget_cached_views() -> None:
        # the user's notification pages and notifications go with them
        await container.cache.invalidate_tag(user_tag(user_id))

    uow.after_commit(forget_cached_views)
