"""A user's preferences, and the one rule table that decides whether a
notification is sent (the README's precedence table is this function)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from typing import Any, TypeVar

from clarion.domain.enums import Channel, NotificationType
from clarion.domain.quiet_hours import QuietWindow

T = NotificationType
K = TypeVar("K")
STOP = "the number replied STOP"


@dataclass(frozen=True)
class Preferences:
    """Opt-outs (False) and opt-ins (True); whatever is not set is allowed."""

    channels: dict[Channel, bool] = field(default_factory=dict)
    types: dict[NotificationType, bool] = field(default_factory=dict)
    type_channels: dict[tuple[NotificationType, Channel], bool] = field(default_factory=dict)
    timezone: str | None = None  # IANA, e.g. America/New_York: where quiet hours are read
    quiet_hours: tuple[QuietWindow, ...] = ()


@dataclass(frozen=True)
class Verdict:
    send: bool
    rule: str  # which row of the table decided: suppressed, transactional, type+channel, ...
    reason: str


def decide(
    preferences: Preferences,
    type_: NotificationType,
    channel: Channel,
    suppressed: str | None = None,
) -> Verdict:
    """The first row that applies decides:

    1. the address is suppressed (a bounce, a complaint, STOP)  → not sent
    2. the notification is TRANSACTIONAL                        → sent
    3. a preference for this type on this channel               → as set
    4. a preference for this type                               → as set
    5. a preference for this channel                            → as set
    6. nothing set                                              → sent
    """
    if suppressed is not None:
        return Verdict(False, "suppressed", suppressed)
    if type_ is T.TRANSACTIONAL:
        return Verdict(True, "transactional", "transactional notifications ignore preferences")
    pair = preferences.type_channels.get((type_, channel))
    if pair is not None:
        return Verdict(pair, "type+channel", f"{type_.value} on {channel.value} is {word(pair)}")
    of_type = preferences.types.get(type_)
    if of_type is not None:
        return Verdict(of_type, "type", f"{type_.value} is {word(of_type)}")
    of_channel = preferences.channels.get(channel)
    if of_channel is not None:
        return Verdict(of_channel, "channel", f"{channel.value} is {word(of_channel)}")
    return Verdict(True, "default", "no preference set")


def word(allowed: bool) -> str:
    return "on" if allowed else "off"


def apply(old: dict[K, bool], new: dict[K, bool | None]) -> dict[K, bool]:
    """Settings changed: a value replaces, None removes, the rest stay."""
    out = dict(old)
    for key, value in new.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


def window_of(days: list[str], start: str, end: str) -> QuietWindow:
    """A window as the API and the store write it: day names, "HH:MM" times."""
    return QuietWindow(
        days=frozenset(DAYS.index(day) for day in days),
        start=time.fromisoformat(start),
        end=time.fromisoformat(end),
    )


def window_json(window: QuietWindow) -> dict[str, Any]:
    return {
        "days": [DAYS[day] for day in sorted(window.days)],
        "from": window.start.strftime("%H:%M"),
        "to": window.end.strftime("%H:%M"),
    }
