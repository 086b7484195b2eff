"""`/users/{id}/devices`: where a user's push notifications go."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, status

from clarion.api.deps import PrincipalDep, UowDep
from clarion.api.schemas import PushToken, RequestModel, ResponseModel
from clarion.domain.contacts import DeviceRecord
from clarion.domain.enums import Platform
from clarion.domain.errors import NotFound
from clarion.domain.time import utcnow
from clarion.services.users import visible_user

router = APIRouter(prefix="/users/{user_id}/devices", tags=["devices"])


class DeviceIn(RequestModel):
    platform: Platform
    token: PushToken


class DeviceOut(ResponseModel):
    id: uuid.UUID
    platform: Platform
    token: str
    created_at: datetime

    @classmethod
    def of(cls, device: DeviceRecord) -> DeviceOut:
        return cls(
            id=device.id,
            platform=device.platform,
            token=device.token,
            created_at=device.created_at,
        )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=DeviceOut)
async def register_device(
    user_id: uuid.UUID, body: DeviceIn, principal: PrincipalDep, uow: UowDep
) -> DeviceOut:
    """Register a push token. A token registered before (to anyone) moves here:
    a device belongs to whoever signed in on it last."""
    await visible_user(uow, principal, user_id)
    device = DeviceRecord(uuid.uuid4(), user_id, body.platform, body.token, utcnow())
    return DeviceOut.of(await uow.contacts.add_device(device))


@router.get("", response_model=list[DeviceOut])
async def list_devices(user_id: uuid.UUID, principal: PrincipalDep, uow: UowDep) -> list[DeviceOut]:
    await visible_user(uow, principal, user_id)
    return [DeviceOut.of(d) for d in await uow.contacts.devices(user_id)]


@router.delete("/{device_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_device(
    user_id: uuid.UUID, device_id: uuid.UUID, principal: PrincipalDep, uow: UowDep
) -> None:
    await visible_user(uow, principal, user_id)
    if not await uow.contacts.remove_device(user_id, device_id):
        raise NotFound("No such device.")
