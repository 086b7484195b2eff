"""`/templates`: reusable content per channel and locale, versioned."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from pydantic.alias_generators import to_camel

from clarion.api.deps import ContainerDep, ContextDep, PrincipalDep, ReadUowDep, UowDep
from clarion.api.openapi import errors
from clarion.api.template_schemas import (
    PreviewOut,
    PreviewRequest,
    TemplateChange,
    TemplateCreate,
    TemplateOut,
    TemplatePage,
)
from clarion.domain.channel_limits import email_report, push_report, sms_report
from clarion.domain.content import (
    Content,
    EmailContent,
    PushContent,
    SmsContent,
    as_payload,
)
from clarion.domain.errors import InvalidInput, field_error
from clarion.domain.templates import TemplateVersion, normal_locale
from clarion.services.rendering import RenderError

router = APIRouter(prefix="/templates", tags=["templates"])
Name = Annotated[str, "the template's name"]


def draft(name: str, body: TemplateChange) -> TemplateVersion:
    """The version to save; locale tags in their usual case (fr-be → fr-BE)."""
    return TemplateVersion(
        name=name,
        version=0,  # numbered when saved
        channel=body.channel,
        default_locale=normal_locale(body.default_locale) or body.default_locale,
        variables=body.variables,
        locales={normal_locale(tag) or tag: dict(content) for tag, content in body.locales.items()},
        description=body.description,
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TemplateOut)
async def create_template(
    body: TemplateCreate,
    principal: PrincipalDep,
    uow: UowDep,
    container: ContainerDep,
    context: ContextDep,
) -> TemplateOut:
    """Version 1 of a new template. A syntax error, or a variable used but not
    declared in `variables`, is a 422 naming the field, the line and the variable."""
    saved = await container.templates.save(
        uow, principal, context, draft(body.name, body), new=True
    )
    return TemplateOut.of(saved)


@router.get("", response_model=TemplatePage)
async def list_templates(
    principal: PrincipalDep,
    uow: ReadUowDep,
    container: ContainerDep,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> TemplatePage:
    """Current versions, by name."""
    container.templates.require_read(principal)
    found = await uow.templates.listing(offset=offset, limit=limit)
    return TemplatePage(items=[TemplateOut.of(v) for v in found])


@router.get("/{name}", response_model=TemplateOut)
async def get_template(
    name: Name,
    principal: PrincipalDep,
    uow: ReadUowDep,
    container: ContainerDep,
    version: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
) -> TemplateOut:
    return TemplateOut.of(await container.templates.find(uow, principal, name, version))


@router.get("/{name}/versions", response_model=TemplatePage)
async def template_history(
    name: Name, principal: PrincipalDep, uow: ReadUowDep, container: ContainerDep
) -> TemplatePage:
    """Every version, newest first."""
    await container.templates.find(uow, principal, name)
    return TemplatePage(items=[TemplateOut.of(v) for v in await uow.templates.history(name)])


@router.put("/{name}", response_model=TemplateOut, responses=errors(409))
async def update_template(
    name: Name,
    body: TemplateChange,
    principal: PrincipalDep,
    uow: UowDep,
    container: ContainerDep,
    context: ContextDep,
) -> TemplateOut:
    """A new version; notifications accepted before keep rendering theirs."""
    saved = await container.templates.save(uow, principal, context, draft(name, body), new=False)
    return TemplateOut.of(saved)


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_template(
    name: Name,
    principal: PrincipalDep,
    uow: UowDep,
    container: ContainerDep,
    context: ContextDep,
) -> Response:
    """New notifications can no longer name it; those already queued still render."""
    await container.templates.delete(uow, principal, context, name)
    return Response(status_code=204)


@router.post("/{name}/preview", response_model=PreviewOut)
async def preview_template(
    name: Name,
    body: PreviewRequest,
    principal: PrincipalDep,
    uow: ReadUowDep,
    container: ContainerDep,
) -> PreviewOut:
    """Render for these variables and locale, store and send nothing, and say
    what the channel will do with the result."""
    version = await container.templates.find(uow, principal, name, body.version)
    try:
        locale, content = container.templates.preview(version, body.variables, body.locale)
    except RenderError as exc:
        raise InvalidInput(
            "The template does not render.", details=[field_error("variables", str(exc))]
        ) from None
    return PreviewOut(
        name=version.name,
        version=version.version,
        channel=version.channel,
        locale=locale,
        content=as_payload(content),
        report=report(content),
    )


def report(content: Content) -> dict[str, Any]:
    if isinstance(content, SmsContent):
        return asdict(sms_report(content.body))
    if isinstance(content, PushContent):
        return asdict(push_report(content.title, content.body, content.data))
    if isinstance(content, EmailContent):
        return {
            to_camel(k): v
            for k, v in asdict(email_report(content.subject, content.body, content.html)).items()
        }
    return {}
