"""Stage 2, render: templated notifications get their content, in the user's
locale, from the template version they were accepted with."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from clarion.domain.content import explicit_address, template_use
from clarion.domain.pipeline import Claimed
from clarion.observability.logging import get_logger
from clarion.ports import UnitOfWork
from clarion.services.rendering import RenderError
from clarion.services.templates import TemplateService

log = get_logger(__name__)


async def render(
    uow_factory: Callable[[], UnitOfWork],
    templates: TemplateService,
    claimed: Sequence[Claimed],
) -> list[Claimed]:
    """Versions already read come from memory; the others in one read for the
    batch. A template that cannot be rendered leaves the notification without
    content: the send stage fails it for good, with the reason."""
    uses = {c.record.id: template_use(c.record.payload) for c in claimed}
    keys = {(u.name, u.version) for u in uses.values() if u is not None}
    if not keys:
        return list(claimed)
    versions = templates.remembered(keys)
    if len(versions) < len(keys):
        async with uow_factory() as uow:
            versions |= await templates.versions(uow, keys - set(versions))
    rendered = []
    for item in claimed:
        use = uses[item.record.id]
        if use is None:
            rendered.append(item)
            continue
        version = versions.get((use.name, use.version))
        if version is None:
            item = replace(item, render_error=f"{use.name} v{use.version} no longer exists")
        else:
            try:
                content = templates.renderer.render(
                    version,
                    use.variables,
                    use.locale or item.locale,
                    explicit_address(item.record.channel, item.record.payload),
                )
                item = replace(item, content=content)
            except RenderError as exc:
                log.info("delivery.render.failed", template=use.name, version=use.version)
                item = replace(item, render_error=str(exc))
        rendered.append(item)
    return rendered
