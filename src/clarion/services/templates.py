"""Templates: who may read and change them, their cache, and how a version is
found for accepting, rendering and previewing."""

from __future__ import annotations

import json
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, replace
from datetime import datetime
from typing import Any

import jsonschema_rs

from clarion.domain.content import Content
from clarion.domain.enums import Channel
from clarion.domain.errors import Forbidden, InvalidInput, NotFound, field_error
from clarion.domain.identity import Principal, RequestContext, Scope
from clarion.domain.notifications import NewNotification
from clarion.domain.templates import TemplateVersion, pick_locale
from clarion.domain.time import utcnow
from clarion.ports import Cache, UnitOfWork
from clarion.services.rendering import Renderer, problems, validator, variable_errors
from clarion.services.users import audit_entry

TEMPLATE_TTL = 3600.0  # the seed's template:{name}


def template_key(name: str) -> str:
    return f"template:{name}"


def may_write(principal: Principal) -> bool:
    """Templates are shared by every sender: admins and keys holding
    templates:write change them, an ordinary user does not."""
    return principal.is_admin or (
        principal.kind == "api_key" and Scope.TEMPLATES_WRITE in principal.scopes
    )


def may_read(principal: Principal) -> bool:
    """Anyone who may send may read the templates they send with."""
    return principal.may(Scope.NOTIFICATIONS_WRITE) or principal.may(Scope.TEMPLATES_WRITE)


def dumped(version: TemplateVersion) -> bytes:
    data = asdict(version)
    data["created_at"] = version.created_at.isoformat() if version.created_at else None
    return json.dumps(data).encode()


def loaded(raw: bytes) -> TemplateVersion:
    data = json.loads(raw)
    created = data.pop("created_at")
    return TemplateVersion(
        **{**data, "channel": Channel(data["channel"])},
        created_at=datetime.fromisoformat(created) if created else None,
    )


def invalid(found: list[tuple[str, str]], message: str) -> InvalidInput:
    return InvalidInput(message, details=[field_error(path, text) for path, text in found])


class TemplateService:
    def __init__(self, *, cache: Cache, renderer: Renderer, kept: int = 1024) -> None:
        self._cache = cache
        self.renderer = renderer
        # versions never change: once read, a version is kept for the process's life
        self._versions: OrderedDict[tuple[str, int], TemplateVersion] = OrderedDict()
        self._kept = kept
        self._validators: dict[tuple[str, int], jsonschema_rs.Draft202012Validator] = {}

    async def save(
        self,
        uow: UnitOfWork,
        principal: Principal,
        context: RequestContext,
        draft: TemplateVersion,
        *,
        new: bool,
    ) -> TemplateVersion:
        """Check the draft (syntax, undeclared variables, schema), then store it
        as the template's next version."""
        if not may_write(principal):
            raise Forbidden("Changing templates needs an admin or the templates:write scope.")
        found = problems(draft)
        if found:
            raise invalid(found, "The template has errors.")
        draft = replace(draft, created_by=f"{principal.kind}:{principal.id}")
        saved = await uow.templates.save(draft, utcnow(), new=new)
        await uow.audit.record(
            audit_entry(
                principal,
                "template.create" if saved.version == 1 else "template.update",
                "template",
                uuid.uuid5(uuid.NAMESPACE_URL, f"clarion:template:{saved.name}"),
                context,
                name=saved.name,
                version=saved.version,
            )
        )
        uow.after_commit(lambda: self._cache.delete(template_key(saved.name)))
        return saved

    async def delete(
        self, uow: UnitOfWork, principal: Principal, context: RequestContext, name: str
    ) -> None:
        """New notifications can no longer name it; queued ones still render."""
        if not may_write(principal):
            raise Forbidden("Changing templates needs an admin or the templates:write scope.")
        if not await uow.templates.delete(name, utcnow()):
            raise NotFound("No such template.")
        await uow.audit.record(
            audit_entry(
                principal,
                "template.delete",
                "template",
                uuid.uuid5(uuid.NAMESPACE_URL, f"clarion:template:{name}"),
                context,
                name=name,
            )
        )
        uow.after_commit(lambda: self._cache.delete(template_key(name)))

    def require_read(self, principal: Principal) -> None:
        if not may_read(principal):
            raise Forbidden("Reading templates needs the notifications:write scope.")

    async def find(
        self, uow: UnitOfWork, principal: Principal, name: str, version: int | None = None
    ) -> TemplateVersion:
        self.require_read(principal)
        return await self.resolve(uow, name, version)

    async def resolve(self, uow: UnitOfWork, name: str, version: int | None) -> TemplateVersion:
        """The template's current version (cached as template:{name}), or the
        version asked for, if the template was not deleted."""
        current = await self._current(uow, name)
        if current is None:
            raise NotFound("No such template.")
        if version is None or version == current.version:
            return current
        found = await self.versions(uow, [(name, version)])
        if (name, version) not in found:
            raise NotFound(f"The template has no version {version}.")
        return found[(name, version)]

    async def _current(self, uow: UnitOfWork, name: str) -> TemplateVersion | None:
        raw = await self._cache.get(template_key(name))
        if raw is not None:
            return loaded(raw)
        current = await uow.templates.current(name)
        if current is not None:
            await self._cache.fill(template_key(name), dumped(current), TEMPLATE_TTL)
            self._keep([current])
        return current

    def remembered(self, keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], TemplateVersion]:
        """Those of these versions this process has read before."""
        return {key: self._versions[key] for key in keys if key in self._versions}

    async def versions(
        self, uow: UnitOfWork, keys: Iterable[tuple[str, int]]
    ) -> dict[tuple[str, int], TemplateVersion]:
        """These versions: those read before from memory, the rest in one read."""
        wanted = set(keys)
        found = self.remembered(wanted)
        missing = wanted - set(found)
        if missing:
            read = await uow.templates.versions(missing)
            self._keep(read)
            found |= {(v.name, v.version): v for v in read}
        return found

    def _keep(self, versions: Iterable[TemplateVersion]) -> None:
        for version in versions:
            self._versions[(version.name, version.version)] = version
            self._versions.move_to_end((version.name, version.version))
        while len(self._versions) > self._kept:
            self._versions.popitem(last=False)

    async def pin(
        self, uow: UnitOfWork, items: Sequence[NewNotification]
    ) -> list[InvalidInput | None]:
        """At accept time, for each notification naming a template: the template
        exists for its channel, the variables fit its schema (422 with the JSON
        path of each error), and the version it will render is fixed now, so
        a later edit does not change what was queued. Each template is looked
        up once per call, however many items name it. One answer per item."""
        found: dict[tuple[str, int | None], TemplateVersion | NotFound] = {}
        answers: list[InvalidInput | None] = []
        for item in items:
            ref = item.payload.get("template")
            if not isinstance(ref, dict):
                answers.append(None)
                continue
            key = (str(ref["name"]), ref.get("version"))
            if key not in found:
                try:
                    found[key] = await self.resolve(uow, *key)
                except NotFound as exc:
                    found[key] = exc
            version = found[key]
            if isinstance(version, NotFound):
                field = "template.version" if key[1] else "template.name"
                answers.append(
                    InvalidInput(version.message, details=[field_error(field, version.message)])
                )
            elif version.channel is not item.channel:
                message = f"The template is for {version.channel.value}, not {item.channel.value}."
                answers.append(InvalidInput(message, details=[field_error("channel", message)]))
            elif errors := self._variable_errors(version, item.payload.get("variables") or {}):
                answers.append(invalid(errors, "The variables do not match the template."))
            else:
                ref["version"] = version.version
                answers.append(None)
        return answers

    def _variable_errors(
        self, version: TemplateVersion, variables: dict[str, Any]
    ) -> list[tuple[str, str]]:
        # a version never changes: its validator is built once per process
        key = (version.name, version.version)
        check = self._validators.get(key)
        if check is None:
            check = self._validators[key] = validator(version.variables)
            while len(self._validators) > self._kept:
                del self._validators[next(iter(self._validators))]
        return variable_errors(check, variables)

    def check_variables(self, version: TemplateVersion, variables: dict[str, Any]) -> None:
        """At accept time: 422 with the JSON path of each error."""
        found = self._variable_errors(version, variables)
        if found:
            raise invalid(found, "The variables do not match the template.")

    def preview(
        self, version: TemplateVersion, variables: dict[str, Any], locale: str | None
    ) -> tuple[str, Content]:
        """(the locale used, the content) for these variables, with no side effect."""
        self.check_variables(version, variables)
        chosen = pick_locale(version.locales, locale, version.default_locale)
        return chosen, self.renderer.render(version, variables, locale)
