"""Rendering templates: Jinja2's sandbox with strict variables, checked at save
time, compiled once per version and locale and reused across batches."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import MutableMapping
from typing import Any

import jsonschema_rs
from jinja2 import StrictUndefined, Template, TemplateError, TemplateSyntaxError, meta
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment

from clarion.domain.content import (
    TEMPLATE_FIELDS,
    Content,
    EmailContent,
    InAppContent,
    PushContent,
    SmsContent,
)
from clarion.domain.enums import Channel
from clarion.domain.templates import TemplateVersion, normal_locale, pick_locale

# The longest text a rendered field may be: the limits the API puts on content
# sent directly, so a template renders into exactly what a provider takes.
LIMITS = {"subject": 500, "title": 500, "body": 10_000, "html": 100_000, "data": 1_000}
SMS_BODY_LIMIT = 1_600
# `"x" * n` and `n ** m` could build a gigabyte from a few characters of template
LARGEST_PRODUCT = 100_000
REQUIRED = {"subject", "body", "title"}


class RenderError(Exception):
    """The template cannot be rendered with these variables: never worth a retry."""


class BoundedEnvironment(SandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int) and abs(right) > 64:
            raise SecurityError("an exponent above 64 is not allowed")
        if operator == "*":
            for text, count in ((left, right), (right, left)):
                if (
                    isinstance(text, str | list | tuple)
                    and isinstance(count, int)
                    and len(text) * count > LARGEST_PRODUCT
                ):
                    raise SecurityError("a repetition that large is not allowed")
        return super().call_binop(context, operator, left, right)

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        # Jinja's default is a ChainMap over the environment's globals, merged
        # into a new dict at every render; ours never change after start-up, so
        # one plain dict per template makes each render cheaper.
        return {**self.globals, **(d or {})}


TEXT = BoundedEnvironment(undefined=StrictUndefined, autoescape=False)
HTML = BoundedEnvironment(undefined=StrictUndefined, autoescape=True)


def environment(field: str) -> SandboxedEnvironment:
    return HTML if field == "html" else TEXT


def sources(content: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(path inside the locale, field, source) of every text a locale's content holds."""
    found = []
    for field, value in content.items():
        if isinstance(value, str):
            found.append((field, field, value))
        elif isinstance(value, dict):
            found.extend((f"{field}.{key}", field, str(v)) for key, v in value.items())
    return found


def problems(version: TemplateVersion) -> list[tuple[str, str]]:
    """What is wrong with a template before it is saved, as (field, message):
    an invalid variables schema, a missing default locale, a missing or
    unknown content field, a syntax error (with its line), a variable used but
    not declared."""
    found = schema_problems(version.variables)
    if version.default_locale not in version.locales:
        found.append(("defaultLocale", "must be one of the template's locales"))
    declared = version.declared()
    allowed = TEMPLATE_FIELDS[version.channel]
    for locale, content in version.locales.items():
        where = f"locales.{locale}"
        if normal_locale(locale) != locale:
            found.append((where, "not a BCP 47 tag such as en, fr or fr-BE"))
        for field in sorted(set(content) - set(allowed)):
            found.append((f"{where}.{field}", f"{version.channel.value} templates have no {field}"))
        for field in sorted(REQUIRED & set(allowed) - set(content)):
            found.append((f"{where}.{field}", "missing"))
        for path, field, source in sources(content):
            if field not in allowed:
                continue
            env = environment(field)
            try:
                tree = env.parse(source)
            except TemplateSyntaxError as exc:
                found.append((f"{where}.{path}", f"line {exc.lineno}: {exc.message}"))
                continue
            used = meta.find_undeclared_variables(tree) - set(env.globals)
            for name in sorted(used - declared):
                found.append(
                    (f"{where}.{path}", f"uses the variable {name!r}, which is not declared")
                )
    return found


def schema_problems(schema: dict[str, Any]) -> list[tuple[str, str]]:
    try:
        jsonschema_rs.meta.validate(schema)
        validator(schema)  # a $ref must resolve inside the schema itself
    except jsonschema_rs.ValidationError as exc:
        return [("variables", f"not a valid JSON Schema: {exc.message}")]
    if schema.get("type") != "object":
        return [("variables", 'must be a JSON Schema with "type": "object"')]
    return []


def validator(schema: dict[str, Any]) -> jsonschema_rs.Draft202012Validator:
    """Draft 2020-12, as written. `offline`: a `$ref` to another address is an
    error, never a request from the server to wherever it points."""
    return jsonschema_rs.Draft202012Validator(schema, offline=True)


def variable_errors(
    check: jsonschema_rs.Draft202012Validator, variables: dict[str, Any]
) -> list[tuple[str, str]]:
    """Every way `variables` breaks the template's schema, as (JSON path, message)."""
    if check.is_valid(variables):  # nearly always, and the cheap question to ask
        return []
    found = []
    for error in check.iter_errors(variables):
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.instance_path)
        found.append((f"variables{path}", error.message))
    return sorted(found)


class Renderer:
    """Renders template versions into channel content; compiled templates are
    kept (bounded, least recently used first out) for the process's life,
    since a version never changes."""

    def __init__(self, *, compiled: int = 1024) -> None:
        self._compiled: OrderedDict[tuple[str, int, str], dict[str, Template]] = OrderedDict()
        self._picked: dict[tuple[str, int, str | None], str] = {}
        self._size = compiled

    def render(
        self,
        version: TemplateVersion,
        variables: dict[str, Any],
        locale: str | None,
        address: str | None = None,
    ) -> Content:
        chosen = self._pick(version, locale)
        compiled = self._compile(version, chosen)
        text: dict[str, str] = {}
        try:
            for path, template in compiled.items():
                text[path] = template.render(variables)
        except (TemplateError, SecurityError) as exc:
            raise RenderError(f"{version.name} v{version.version} ({chosen}): {exc}") from None
        except Exception as exc:  # a filter given the wrong type, a division by zero
            raise RenderError(
                f"{version.name} v{version.version} ({chosen}): {type(exc).__name__}"
            ) from None
        for path, value in text.items():
            field = path.partition(".")[0]
            limit = SMS_BODY_LIMIT if version.channel is Channel.SMS else LIMITS[field]
            if len(value) > limit:
                raise RenderError(f"{path} is longer than {limit} characters once rendered")
            if field in REQUIRED and not value.strip():
                raise RenderError(f"{path} is empty once rendered")
        return build(version.channel, text, address)

    def _pick(self, version: TemplateVersion, wanted: str | None) -> str:
        # a batch asks for the same few locales of the same version again and again
        key = (version.name, version.version, wanted)
        chosen = self._picked.get(key)
        if chosen is None:
            chosen = self._picked[key] = pick_locale(
                version.locales, wanted, version.default_locale
            )
            if len(self._picked) > self._size:
                del self._picked[next(iter(self._picked))]
        return chosen

    def _compile(self, version: TemplateVersion, locale: str) -> dict[str, Template]:
        key = (version.name, version.version, locale)
        compiled = self._compiled.get(key)
        if compiled is not None:
            self._compiled.move_to_end(key)
            return compiled
        compiled = {
            path: environment(field).from_string(source)
            for path, field, source in sources(version.locales[locale])
        }
        self._compiled[key] = compiled
        if len(self._compiled) > self._size:
            self._compiled.popitem(last=False)
        return compiled


def build(channel: Channel, text: dict[str, str], address: str | None) -> Content:
    if channel is Channel.EMAIL:
        return EmailContent(
            subject=text["subject"], body=text["body"], html=text.get("html"), to=address
        )
    if channel is Channel.SMS:
        return SmsContent(body=text["body"], to=address)
    data = {path[5:]: v for path, v in text.items() if path.startswith("data.")} or None
    if channel is Channel.PUSH:
        return PushContent(title=text["title"], body=text["body"], data=data, token=address)
    if channel is Channel.IN_APP:
        return InAppContent(title=text["title"], body=text["body"], data=data)
    raise ValueError(f"no template renders {channel.value} content")
