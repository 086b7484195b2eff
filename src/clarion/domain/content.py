"""What each channel sends, and to which explicit address: one type per channel.

The API's payloads, a template's rendered output and a provider's input are
all one of these, so what a channel needs is written down here and nowhere
else. A stored payload is the type's fields as JSON (absent when empty); a
payload that names a template holds `template` and `variables` instead of the
content, which the delivery pipeline renders.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from typing import Any, TypeVar

from clarion.domain.enums import Channel


@dataclass(frozen=True)
class EmailContent:
    subject: str
    body: str  # plain text
    html: str | None = None
    to: str | None = None  # default: the user's email
    # set by the pipeline, never by a sender: List-Unsubscribe on marketing mail
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class SmsContent:
    body: str
    to: str | None = None  # E.164; default: the user's phone


@dataclass(frozen=True)
class PushContent:
    title: str
    body: str
    data: dict[str, str] | None = None
    token: str | None = None  # default: every device the user registered


@dataclass(frozen=True)
class InAppContent:
    title: str
    body: str
    data: dict[str, Any] | None = None


@dataclass(frozen=True)
class WebhookContent:
    url: str
    data: dict[str, Any]


Content = EmailContent | SmsContent | PushContent | InAppContent | WebhookContent
C = TypeVar("C", EmailContent, SmsContent, PushContent, InAppContent, WebhookContent)

CONTENT_TYPES: dict[Channel, type[Content]] = {
    Channel.EMAIL: EmailContent,
    Channel.SMS: SmsContent,
    Channel.PUSH: PushContent,
    Channel.IN_APP: InAppContent,
    Channel.WEBHOOK: WebhookContent,
}

# The field that names an explicit recipient, per channel (in-app has none).
ADDRESS_FIELDS: dict[Channel, str] = {
    Channel.EMAIL: "to",
    Channel.SMS: "to",
    Channel.PUSH: "token",
    Channel.WEBHOOK: "url",
}

# The channels that interrupt their reader: a user's quiet hours hold them back.
INTERRUPTIVE = frozenset({Channel.EMAIL, Channel.SMS, Channel.PUSH})

# What a template may fill in, per channel: every field but the address.
TEMPLATE_FIELDS: dict[Channel, tuple[str, ...]] = {
    Channel.EMAIL: ("subject", "body", "html"),
    Channel.SMS: ("body",),
    Channel.PUSH: ("title", "body", "data"),
    Channel.IN_APP: ("title", "body", "data"),
}


@dataclass(frozen=True)
class TemplateUse:
    """A notification to be rendered from a template version, not yet rendered."""

    name: str
    version: int
    variables: dict[str, Any]
    locale: str | None = None  # default: the user's locale


# each content type's field names, read once: the hot path asks for them per notification
FIELD_NAMES: dict[type[Content], tuple[str, ...]] = {
    kind: tuple(f.name for f in dataclasses.fields(kind)) for kind in CONTENT_TYPES.values()
}


def content_fields(channel: Channel) -> tuple[str, ...]:
    return FIELD_NAMES[CONTENT_TYPES[channel]]


def content_of(channel: Channel, payload: dict[str, Any]) -> Content:
    """The typed content of a stored payload that carries its content."""
    kind = CONTENT_TYPES[channel]
    return kind(**{name: payload[name] for name in content_fields(channel) if name in payload})


def is_templated(payload: dict[str, Any]) -> bool:
    """Whether a stored payload names a template rather than carrying its content."""
    return isinstance(payload.get("template"), dict)


def template_use(payload: dict[str, Any]) -> TemplateUse | None:
    """The template a stored payload names, if it names one."""
    ref = payload.get("template")
    if not isinstance(ref, dict):
        return None
    return TemplateUse(
        name=str(ref["name"]),
        version=int(ref["version"]),
        variables=dict(payload.get("variables") or {}),
        locale=ref.get("locale"),
    )


def as_payload(content: Content) -> dict[str, Any]:
    """The stored (and API) form of a content: its fields, empty ones left out.
    Values are shared, not copied: contents are frozen and never changed."""
    return {
        name: value
        for name in FIELD_NAMES[type(content)]
        if (value := getattr(content, name)) is not None and value != ()
    }


def explicit_address(channel: Channel, payload: dict[str, Any]) -> str | None:
    name = ADDRESS_FIELDS.get(channel)
    value = payload.get(name) if name else None
    return str(value) if value else None


def queue_key(channel: Channel, payload: dict[str, Any], user_id: uuid.UUID) -> str:
    """The message key: the explicit recipient, else the user. A webhook's URL is
    not a recipient: webhooks are keyed by their user."""
    if channel is Channel.WEBHOOK:
        return str(user_id)
    return explicit_address(channel, payload) or str(user_id)


def expect(content: Content, kind: type[C]) -> C:
    """The content as the type a provider takes; another channel's content is a bug."""
    if not isinstance(content, kind):
        raise TypeError(f"{type(content).__name__} given where {kind.__name__} is needed")
    return content
