"""`/users/{id}/preferences`: what a user wants to receive, and why a notification
would or would not be sent."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from clarion.api.deps import ContextDep, PrincipalDep, ReadUowDep, UowDep
from clarion.api.schemas import RequestModel, ResponseModel
from clarion.domain.enums import Channel, NotificationType
from clarion.domain.preferences import Preferences
from clarion.services import preferences

router = APIRouter(prefix="/users/{user_id}/preferences", tags=["preferences"])

HELP = (
    "true turns on, false off; whatever is not set is on. The most specific setting wins "
    "(type on a channel, then type, then channel); TRANSACTIONAL cannot be turned off."
)


class PreferencesBody(RequestModel):
    channels: dict[Channel, bool] = Field(default_factory=dict, description=HELP)
    types: dict[NotificationType, bool] = Field(default_factory=dict)
    type_channels: dict[NotificationType, dict[Channel, bool]] = Field(
        default_factory=dict, description='e.g. {"MARKETING": {"EMAIL": false}}'
    )

    def preferences(self) -> Preferences:
        return Preferences(
            channels=dict(self.channels),
            types=dict(self.types),
            type_channels={
                (t, c): v for t, per in self.type_channels.items() for c, v in per.items()
            },
        )


class PreferencesPatch(RequestModel):
    channels: dict[Channel, bool | None] = Field(
        default_factory=dict, description="A value replaces, null removes, the rest stay."
    )
    types: dict[NotificationType, bool | None] = Field(default_factory=dict)
    type_channels: dict[NotificationType, dict[Channel, bool | None]] = Field(default_factory=dict)


class PreferencesOut(ResponseModel):
    channels: dict[Channel, bool]
    types: dict[NotificationType, bool]
    type_channels: dict[NotificationType, dict[Channel, bool]]

    @classmethod
    def of(cls, found: Preferences) -> PreferencesOut:
        pairs: dict[NotificationType, dict[Channel, bool]] = {}
        for (type_, channel), allowed in found.type_channels.items():
            pairs.setdefault(type_, {})[channel] = allowed
        return cls(channels=found.channels, types=found.types, type_channels=pairs)


class ExplainOut(ResponseModel):
    send: bool
    rule: str = Field(
        description="suppressed, transactional, type+channel, type, channel or default"
    )
    reason: str


@router.get("", response_model=PreferencesOut)
async def get_preferences(
    user_id: uuid.UUID, principal: PrincipalDep, uow: ReadUowDep
) -> PreferencesOut:
    return PreferencesOut.of(await preferences.read(uow, principal, user_id))


@router.put("", response_model=PreferencesOut)
async def replace_preferences(
    user_id: uuid.UUID,
    body: PreferencesBody,
    principal: PrincipalDep,
    uow: UowDep,
    context: ContextDep,
) -> PreferencesOut:
    """Replace them all."""
    saved = await preferences.replace_all(uow, principal, context, user_id, body.preferences())
    return PreferencesOut.of(saved)


@router.patch("", response_model=PreferencesOut)
async def change_preferences(
    user_id: uuid.UUID,
    body: PreferencesPatch,
    principal: PrincipalDep,
    uow: UowDep,
    context: ContextDep,
) -> PreferencesOut:
    current = await preferences.read(uow, principal, user_id)
    pairs = {(t, c): v for t, per in body.type_channels.items() for c, v in per.items()}
    changed = preferences.merged(current, dict(body.channels), dict(body.types), pairs)
    saved = await preferences.replace_all(uow, principal, context, user_id, changed)
    return PreferencesOut.of(saved)


@router.get("/explain", response_model=ExplainOut)
async def explain_preferences(
    user_id: uuid.UUID,
    principal: PrincipalDep,
    uow: ReadUowDep,
    type_: Annotated[NotificationType, Query(alias="type")],
    channel: Channel,
) -> ExplainOut:
    """Whether a notification of this type on this channel to the user's own address
    would be sent now, and which rule of the precedence table decides."""
    verdict = await preferences.explain(uow, principal, user_id, type_, channel)
    return ExplainOut(send=verdict.send, rule=verdict.rule, reason=verdict.reason)
