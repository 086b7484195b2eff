"""What the log lines of one request, or of one notification in a worker, share:
its correlation id and whether its info and debug lines are written.

The sampling decision is made once per request (at random) or per notification
(from its id, so every line about it agrees, in whichever task or retry it is
written), and kept in a context variable: a request's lines are written all
together or not at all. Warnings and errors are always written, and after one
the rest of its request is written too. Lines outside any request or
notification (start-up, background loops) are always written.
"""

from __future__ import annotations

import logging
import random
import uuid
from contextvars import ContextVar, Token
from typing import Any

import structlog

CORRELATION_KEY = "correlation_id"
DROPPED_METHODS = frozenset({"debug", "info"})
_FULL = 1 << 32


class LogScope:
    """One request's or notification's correlation id and sampling decision.
    Mutable, so that a warning written in a task the request started still
    keeps the request's later lines."""

    __slots__ = ("correlation_id", "keep")

    def __init__(self, correlation_id: str | None, keep: bool) -> None:
        self.correlation_id = correlation_id
        self.keep = keep


class _State:
    rate = 1.0
    threshold = _FULL  # rate as a share of 2**32, for the per-notification decision
    info = True  # whether the configured level writes info lines at all


# one variable, set and reset once per request or notification: the cheapest
# way to bind both (structlog's bind_contextvars costs several times as much)
_scope: ContextVar[LogScope | None] = ContextVar("clarion_log_scope", default=None)


def configure_sampling(rate: float, level: int) -> None:
    _State.rate = min(1.0, max(0.0, rate))
    _State.threshold = int(_State.rate * _FULL)
    _State.info = level <= logging.INFO


def writes_info() -> bool:
    """Whether an info line written now reaches the log: the level allows it and
    the current request or notification was sampled in."""
    if not _State.info:
        return False
    scope = _scope.get()
    return scope is None or scope.keep


def keeps_notification(notification_id: uuid.UUID) -> bool:
    """The decision for one notification: its id's last bits are random."""
    return (notification_id.int & 0xFFFFFFFF) < _State.threshold


def begin_request(correlation_id: str) -> Token[LogScope | None]:
    """Bind the id into this context's log lines and decide the sampling."""
    keep = _State.rate >= 1.0 or random.random() < _State.rate  # noqa: S311 (not a secret)
    return _scope.set(LogScope(correlation_id, keep))


def begin_notification(
    notification_id: uuid.UUID, correlation_id: str | None
) -> Token[LogScope | None]:
    """The log lines written until `end_scope` are about this notification."""
    return _scope.set(LogScope(correlation_id, keeps_notification(notification_id)))


def end_scope(token: Token[LogScope | None]) -> None:
    _scope.reset(token)


def current_correlation_id() -> str | None:
    scope = _scope.get()
    return scope.correlation_id if scope is not None else None


def drop_sampled_out(
    _logger: Any, method_name: str, event_dict: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    """structlog processor (first in the chain, so a dropped line costs nothing more)."""
    scope = _scope.get()
    if scope is None or scope.keep:
        return event_dict
    if method_name in DROPPED_METHODS:
        raise structlog.DropEvent
    scope.keep = True  # a warning or an error: the rest of the request is written
    return event_dict


def add_correlation_id(
    _logger: Any, _method_name: str, event_dict: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    scope = _scope.get()
    if scope is not None and scope.correlation_id is not None:
        event_dict.setdefault(CORRELATION_KEY, scope.correlation_id)
    return event_dict


class SampledOut(logging.Filter):
    """The same decision for the standard library's records (uvicorn, httpx, ...)."""

    def filter(self, record: logging.LogRecord) -> bool:
        scope = _scope.get()
        if scope is None or scope.keep:
            return True
        if record.levelno < logging.WARNING:
            return False
        scope.keep = True
        return True
