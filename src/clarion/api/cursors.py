"""Cursors for keyset paging: the (time, id) of a page's last item, opaque to
callers. A cursor that does not decode is a 422 naming the `cursor` parameter."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import UTC, datetime

from clarion.domain.errors import InvalidInput, field_error


def encode_cursor(last: tuple[datetime, uuid.UUID] | None) -> str | None:
    if last is None:
        return None
    raw = f"{last[0].isoformat()}|{last[1]}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created, last_id = raw.split("|")
        after = datetime.fromisoformat(created)
        if after.tzinfo is None:
            raise ValueError("cursor time without offset")
        return after.astimezone(UTC), uuid.UUID(last_id)
    except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput(
            "The cursor is not valid.",
            details=[field_error("cursor", "not a cursor", location="query")],
        ) from None
