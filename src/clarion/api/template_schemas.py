"""Template bodies: a template is for one channel, with its content per locale."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from clarion.api.notification_schemas import TemplateName
from clarion.api.schemas import LocaleTag, RequestModel, ResponseModel
from clarion.domain.enums import Channel
from clarion.domain.templates import TemplateVersion

Source = Annotated[str, Field(max_length=100_000)]
DataSources = Annotated[dict[str, Annotated[str, Field(max_length=10_000)]], Field(max_length=50)]
LocaleContent = Annotated[dict[str, Source | DataSources], Field(max_length=10)]
LocaleKey = Annotated[str, Field(min_length=1, max_length=35)]
TemplateChannel = Literal[Channel.EMAIL, Channel.SMS, Channel.PUSH, Channel.IN_APP]

CONTENT_HELP = (
    "Per locale, the channel's content as Jinja2 source: EMAIL subject, body (text) and "
    "html; SMS body; PUSH and IN_APP title, body and data (a map of strings)."
)


class TemplateChange(RequestModel):
    channel: TemplateChannel
    description: Annotated[str, Field(max_length=1000)] | None = None
    default_locale: LocaleTag = Field(
        default="en", description="The variant anyone without a closer match gets."
    )
    variables: dict[str, Any] = Field(
        default_factory=lambda: {"type": "object", "properties": {}},
        description='A JSON Schema ("type": "object"); its properties are the variables a '
        "template may use.",
    )
    locales: Annotated[dict[LocaleTag, LocaleContent], Field(min_length=1, max_length=50)] = Field(
        description=CONTENT_HELP
    )


class TemplateCreate(TemplateChange):
    name: TemplateName


class TemplateOut(ResponseModel):
    name: str
    version: int
    channel: Channel
    description: str | None
    default_locale: str
    variables: dict[str, Any]
    locales: dict[str, dict[str, Any]]
    created_by: str | None
    created_at: datetime | None

    @classmethod
    def of(cls, version: TemplateVersion) -> TemplateOut:
        return cls(
            name=version.name,
            version=version.version,
            channel=version.channel,
            description=version.description,
            default_locale=version.default_locale,
            variables=version.variables,
            locales=version.locales,
            created_by=version.created_by,
            created_at=version.created_at,
        )


class TemplatePage(ResponseModel):
    items: list[TemplateOut]


class PreviewRequest(RequestModel):
    variables: Annotated[dict[str, Any], Field(max_length=100)] = Field(default_factory=dict)
    locale: LocaleTag | None = None
    version: Annotated[int, Field(ge=1)] | None = None


class PreviewOut(ResponseModel):
    name: str
    version: int
    channel: Channel
    locale: str = Field(description="The variant used, after falling back.")
    content: dict[str, Any] = Field(description="Exactly what the provider would be given.")
    report: dict[str, Any] = Field(
        description="What the channel will do with it: SMS encoding and segments, push "
        "payload bytes against the limit, whether an email has a subject."
    )
