"""Templates: immutable versions, their locales, and which locale a user gets."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from clarion.domain.enums import Channel

# A BCP 47 tag as far as templates need one: language, optional script, optional
# region (en, fr-BE, zh-Hant-TW, es-419). Extensions and private use are refused.
LOCALE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z]{4})?(-([A-Za-z]{2}|[0-9]{3}))?$")
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,199}$")


def normal_locale(tag: str) -> str | None:
    """The tag in its usual case (fr-be → fr-BE, zh-hant-tw → zh-Hant-TW), or
    None if it is not a tag templates accept."""
    if not LOCALE.match(tag):
        return None
    parts = tag.split("-")
    out = [parts[0].lower()]
    for part in parts[1:]:
        out.append(part.title() if len(part) == 4 else part.upper())
    return "-".join(out)


def fallbacks(tag: str | None) -> list[str]:
    """Most specific first: fr-Latn-BE → fr-Latn-BE, fr-Latn, fr."""
    if not tag:
        return []
    normal = normal_locale(tag)
    if normal is None:
        return []
    parts = normal.split("-")
    return ["-".join(parts[:n]) for n in range(len(parts), 0, -1)]


def pick_locale(available: Iterable[str], wanted: str | None, default: str) -> str:
    """The variant a reader of `wanted` gets: region → language → the template's
    default, which always exists, so nobody ever sees a missing text."""
    have = set(available)
    for tag in fallbacks(wanted):
        if tag in have:
            return tag
    return default


@dataclass(frozen=True)
class TemplateVersion:
    name: str
    version: int
    channel: Channel
    default_locale: str
    variables: dict[str, Any]  # a JSON Schema for the variables (an object)
    locales: dict[str, dict[str, Any]]  # locale → the channel's content fields, as source
    description: str | None = None
    created_by: str | None = None
    created_at: datetime | None = None

    def declared(self) -> set[str]:
        """The variables a template may use: the schema's top-level properties."""
        properties = self.variables.get("properties")
        return set(properties) if isinstance(properties, dict) else set()
