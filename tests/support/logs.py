"""The JSON log lines written while a test runs, with logging configured as
`clarion serve` configures it (into a buffer instead of stdout)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from clarion.config import LogFormat
from clarion.observability.logging import configure_logging, reset_logging


class LogLines:
    def __init__(self) -> None:
        self.stream = io.StringIO()

    def text(self) -> str:
        return self.stream.getvalue()

    def all(self) -> list[dict[str, Any]]:
        """Every line written so far; each must be one JSON object."""
        return [json.loads(line) for line in self.text().splitlines()]

    def events(self, event: str) -> list[dict[str, Any]]:
        return [line for line in self.all() if line.get("event") == event]

    def of(self, correlation_id: str) -> list[dict[str, Any]]:
        return [line for line in self.all() if line.get("correlation_id") == correlation_id]


@contextmanager
def json_logs(sample_rate: float, level: str = "INFO") -> Iterator[LogLines]:
    lines = LogLines()
    configure_logging(level, LogFormat.JSON, sample_rate, stream=lines.stream)
    try:
        yield lines
    finally:
        reset_logging()
