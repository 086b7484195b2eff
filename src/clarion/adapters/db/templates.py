"""Templates and their immutable versions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from clarion.adapters.db.models import Template, TemplateVersionRow
from clarion.domain.enums import Channel
from clarion.domain.errors import Conflict, NotFound
from clarion.domain.templates import TemplateVersion

V = TemplateVersionRow


def version_from_row(row: TemplateVersionRow) -> TemplateVersion:
    return TemplateVersion(
        name=row.name,
        version=row.version,
        channel=Channel(row.channel),
        default_locale=row.default_locale,
        variables=row.variables,
        locales=row.locales,
        description=row.description,
        created_by=row.created_by,
        created_at=row.created_at,
    )


class SqlTemplates:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def current(self, name: str) -> TemplateVersion | None:
        """The template's newest version, unless the template was deleted."""
        row = (
            await self._session.execute(
                select(V)
                .join(Template, Template.id == V.template_id)
                .where(
                    Template.name == name,
                    Template.deleted_at.is_(None),
                    V.version == Template.version,
                )
            )
        ).scalar_one_or_none()
        return version_from_row(row) if row else None

    async def versions(self, keys: Iterable[tuple[str, int]]) -> list[TemplateVersion]:
        """These versions, deleted templates' included: what was queued still renders."""
        wanted = list(set(keys))
        if not wanted:
            return []
        rows = await self._session.scalars(
            select(V).where(or_(*(and_(V.name == n, V.version == v) for n, v in wanted)))
        )
        return [version_from_row(row) for row in rows]

    async def history(self, name: str) -> list[TemplateVersion]:
        rows = await self._session.scalars(
            select(V)
            .join(Template, Template.id == V.template_id)
            .where(Template.name == name, Template.deleted_at.is_(None))
            .order_by(V.version.desc())
        )
        return [version_from_row(row) for row in rows]

    async def listing(self, *, offset: int, limit: int) -> list[TemplateVersion]:
        rows = await self._session.scalars(
            select(V)
            .join(Template, Template.id == V.template_id)
            .where(Template.deleted_at.is_(None), V.version == Template.version)
            .order_by(Template.name)
            .offset(offset)
            .limit(limit)
        )
        return [version_from_row(row) for row in rows]

    async def save(self, version: TemplateVersion, now: datetime, *, new: bool) -> TemplateVersion:
        """Store the template's next version and return it numbered. `new`: the
        name must be free (a deleted template's name is: its numbering goes on,
        so what was queued with its old versions still renders)."""
        template = (
            await self._session.execute(select(Template).where(Template.name == version.name))
        ).scalar_one_or_none()
        live = template is not None and template.deleted_at is None
        if new and live:
            raise Conflict(f"A template named {version.name!r} exists.")
        if not new and not live:
            raise NotFound("No such template.")
        if template is None:
            template = Template(name=version.name, version=0, created_at=now)
            self._session.add(template)
        numbered = replace(version, version=template.version + 1, created_at=now)
        default = version.locales[version.default_locale]
        template.channel = version.channel
        template.subject = default.get("subject") or default.get("title")
        template.body = str(default.get("body", ""))
        template.variables = version.variables
        template.version = numbered.version
        template.default_locale = version.default_locale
        template.deleted_at = None
        template.updated_at = now
        try:
            await self._session.flush()
            self._session.add(
                V(
                    template_id=template.id,
                    name=numbered.name,
                    version=numbered.version,
                    channel=numbered.channel.value,
                    default_locale=numbered.default_locale,
                    variables=numbered.variables,
                    locales=numbered.locales,
                    description=numbered.description,
                    created_by=numbered.created_by,
                    created_at=now,
                )
            )
            await self._session.flush()
        except IntegrityError:  # another request saved the same name or number first
            raise Conflict("The template changed meanwhile; try again.") from None
        return numbered

    async def delete(self, name: str, now: datetime) -> bool:
        result = await self._session.execute(
            update(Template)
            .where(Template.name == name, Template.deleted_at.is_(None))
            .values(deleted_at=now, updated_at=now)
            .returning(Template.id)
        )
        return result.first() is not None
