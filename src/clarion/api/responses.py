"""JSON responses rendered with orjson: a batch's answer lists up to 1,000
notifications, and the standard library's encoder took several milliseconds
of the event loop for it."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse


class Json(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
