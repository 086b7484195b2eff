"""`/users/{id}/preferences`: what a user wants to receive, and why a notification
would or would not be sent."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Annotated, Any, Literal
from zoneinfo import available_timezones

from fastapi import APIRouter, Query
from pydantic import Field, field_validator, model_validator

from clarion.api.deps import ContextDep, PrincipalDep, ReadUowDep, UowDep
from clarion.api.schemas import RequestModel, ResponseModel
from clarion.domain.enums import Channel, NotificationType
from clarion.domain.preferences import Preferences, window_json, window_of
from clarion.domain.quiet_hours import QuietWindow
from clarion.services import preferences

router = APIRouter(prefix="/users/{user_id}/preferences", tags=["preferences"])

QUIET_HELP = (
    "Windows when SMS, push and (unless CLARION_QUIET_HOURS_EMAIL=false) email wait until "
    'the window ends: [{"days": ["MON", "TUE"], "from": "22:00", "to": "07:00"}]. '
    "URGENT is never held; in-app is stored at once."
)
HELP = (
    "true turns on, false off; whatever is not set is on. The most specific setting wins "
    "(type on a channel, then type, then channel); TRANSACTIONAL cannot be turned off."
)


Clock = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", examples=["22:00"])]
Day = Literal["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]
Zone = Annotated[str, Field(max_length=64, examples=["America/New_York"])]


class QuietWindowIn(RequestModel):
    days: Annotated[list[Day], Field(min_length=1, max_length=7)] = Field(
        description="The days the window starts on."
    )
    from_: Clock = Field(alias="from", description="Local time the quiet starts.")
    to: Clock = Field(description="Local time it ends; earlier than `from`: the next day.")

    @model_validator(mode="after")
    def _not_empty(self) -> QuietWindowIn:
        if self.from_ == self.to:
            raise ValueError("`from` and `to` must differ")
        return self

    def window(self) -> QuietWindow:
        return window_of(list(self.days), self.from_, self.to)


def known_zone(value: str | None) -> str | None:
    if value is not None and value not in available_timezones():
        raise ValueError("not an IANA time zone such as Europe/Paris or America/New_York")
    return value


class PreferencesBody(RequestModel):
    channels: dict[Channel, bool] = Field(default_factory=dict, description=HELP)
    types: dict[NotificationType, bool] = Field(default_factory=dict)
    type_channels: dict[NotificationType, dict[Channel, bool]] = Field(
        default_factory=dict, description='e.g. {"MARKETING": {"EMAIL": false}}'
    )
    timezone: Zone | None = Field(default=None, description="IANA zone quiet hours are read in.")
    quiet_hours: Annotated[list[QuietWindowIn], Field(max_length=14)] = Field(
        default_factory=list, description=QUIET_HELP
    )

    _zone = field_validator("timezone")(known_zone)

    def preferences(self) -> Preferences:
        return Preferences(
            channels=dict(self.channels),
            types=dict(self.types),
            type_channels={
                (t, c): v for t, per in self.type_channels.items() for c, v in per.items()
            },
            timezone=self.timezone,
            quiet_hours=tuple(w.window() for w in self.quiet_hours),
        )


class PreferencesPatch(RequestModel):
    channels: dict[Channel, bool | None] = Field(
        default_factory=dict, description="A value replaces, null removes, the rest stay."
    )
    types: dict[NotificationType, bool | None] = Field(default_factory=dict)
    type_channels: dict[NotificationType, dict[Channel, bool | None]] = Field(default_factory=dict)
    timezone: Zone | None = Field(default=None, description="Given: replaces; null: removes.")
    quiet_hours: Annotated[list[QuietWindowIn], Field(max_length=14)] | None = Field(
        default=None, description="Given: replaces the list; null or []: removes them."
    )

    _zone = field_validator("timezone")(known_zone)


class PreferencesOut(ResponseModel):
    channels: dict[Channel, bool]
    types: dict[NotificationType, bool]
    type_channels: dict[NotificationType, dict[Channel, bool]]
    timezone: str | None
    quiet_hours: list[dict[str, Any]]

    @classmethod
    def of(cls, found: Preferences) -> PreferencesOut:
        pairs: dict[NotificationType, dict[Channel, bool]] = {}
        for (type_, channel), allowed in found.type_channels.items():
            pairs.setdefault(type_, {})[channel] = allowed
        return cls(
            channels=found.channels,
            types=found.types,
            type_channels=pairs,
            timezone=found.timezone,
            quiet_hours=[window_json(w) for w in found.quiet_hours],
        )


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
    if "timezone" in body.model_fields_set:
        changed = replace(changed, timezone=body.timezone)
    if "quiet_hours" in body.model_fields_set:
        windows = tuple(w.window() for w in body.quiet_hours or [])
        changed = replace(changed, quiet_hours=windows)
    # `read` checked who may change them: no second look at the user
    saved = await preferences.store(uow, principal, context, user_id, changed)
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
