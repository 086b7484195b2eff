"""Structured logs: JSON lines by default, one event name per line (`health.check.failed`).

Our own structlog lines go straight to stdout; the standard library's records
(uvicorn, httpx, drivers) go through a root handler whose `ProcessorFormatter`
renders them in the same shape. Both pass the same sampling decision (see
context.py) and the same redaction.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, TextIO

import structlog

from clarion.config import LogFormat
from clarion.observability.context import (
    SampledOut,
    add_correlation_id,
    configure_sampling,
    drop_sampled_out,
)

QUIET_LOGGERS = ("aiosqlite", "asyncpg", "sqlalchemy.engine", "sqlalchemy.pool", "httpcore")
REDACTED = "[redacted]"
SECRET_KEY = re.compile(
    r"passw(or)?d|token|authori[sz]ation|api[-_ ]?key|secret|cookie", re.IGNORECASE
)


@lru_cache(maxsize=4096)
def looks_secret(key: str) -> bool:
    return SECRET_KEY.search(key) is not None


def redacted(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            k: REDACTED if isinstance(k, str) and looks_secret(k) else redacted(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redacted(item) for item in value]
    return value


def redact_secrets(
    _logger: Any, _method_name: str, event_dict: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    """A safety net: values under keys that look secret never reach the log,
    however deep in a logged dict they are."""
    for key, value in event_dict.items():
        if looks_secret(key):
            event_dict[key] = REDACTED
        elif isinstance(value, Mapping | list | tuple):
            event_dict[key] = redacted(value)
    return event_dict


class _OurHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The root handler this module installs; replaced when logging is configured again."""


def configure_logging(
    level: str, fmt: LogFormat, sample_rate: float = 1.0, *, stream: TextIO | None = None
) -> None:
    """`sample_rate`: the share of requests and notifications whose info and
    debug lines are written (warnings and errors always are). `stream`: where
    lines go, stdout unless given."""
    numeric = logging.getLevelName(level)
    out = stream or sys.stdout
    configure_sampling(sample_rate, numeric)
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if fmt is LogFormat.JSON
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            drop_sampled_out,
            structlog.contextvars.merge_contextvars,
            add_correlation_id,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact_secrets,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
    handler = _OurHandler(out)
    handler.addFilter(SampledOut())
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                structlog.contextvars.merge_contextvars,
                add_correlation_id,
                structlog.processors.add_log_level,
                structlog.stdlib.add_logger_name,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
            ],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                redact_secrets,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _OurHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
    # Drivers log statements with their parameters at DEBUG: password hashes and
    # tokens would reach the logs. They stay at WARNING whatever our level is.
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, numeric))


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger


def reset_logging() -> None:
    """Undo `configure_logging` (tests configure logging for one test at a time)."""
    structlog.reset_defaults()
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _OurHandler)]:
        root.removeHandler(old)
    configure_sampling(1.0, logging.INFO)
