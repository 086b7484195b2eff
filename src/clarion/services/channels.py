"""One channel's ordered chain of providers, each behind a circuit breaker and
a bound on its concurrent sends.

A provider whose trouble is its own (5xx, timeouts, 401/403) opens its
circuit after `failures` faults in a row; while open it is skipped and the
next provider in the chain is tried (EMAIL: SendGrid, then SMTP). After the
cooldown one probe is let through: success closes the circuit, a fault opens
it again. Errors caused by one message (a bad address, a 400) never count.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from opentelemetry.trace import SpanKind, Status, StatusCode

from clarion.domain.delivery import Outcome, OutgoingMessage, SendResult
from clarion.observability import metrics, tracing
from clarion.observability.logging import get_logger
from clarion.observability.metrics import CIRCUIT_STATE, PROVIDER_DURATION, PROVIDER_RATE_LIMITED
from clarion.ports import Provider

log = get_logger(__name__)


class Circuit(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


CIRCUIT_CODES = {Circuit.CLOSED: 0, Circuit.HALF_OPEN: 1, Circuit.OPEN: 2}


@dataclass
class CircuitBreaker:
    failures: int = 5
    cooldown: float = 30.0
    clock: Callable[[], float] = time.monotonic
    state: Circuit = Circuit.CLOSED
    faults: int = 0
    opened_at: float = 0.0
    probing: bool = False

    def allow(self) -> bool:
        if self.state is Circuit.CLOSED:
            return True
        if self.state is Circuit.OPEN and self.clock() - self.opened_at >= self.cooldown:
            self.state = Circuit.HALF_OPEN
            self.probing = False
        if self.state is Circuit.HALF_OPEN and not self.probing:
            self.probing = True  # one probe at a time
            return True
        return False

    def record(self, fault: bool) -> Circuit:
        before = self.state
        if not fault:
            self.state, self.faults, self.probing = Circuit.CLOSED, 0, False
        else:
            self.faults += 1
            if self.state is Circuit.HALF_OPEN or self.faults >= self.failures:
                self.state, self.opened_at, self.probing = Circuit.OPEN, self.clock(), False
        return before

    def wait_left(self) -> float:
        """How long a message turned away now should wait: while a probe is out,
        a whole cooldown (the probe may take as long as a timeout)."""
        if self.state is Circuit.HALF_OPEN:
            return self.cooldown
        return max(0.0, self.cooldown - (self.clock() - self.opened_at))


@dataclass
class Guarded:
    """A provider with its concurrency bound and, when its failures are its own,
    a circuit breaker. (A webhook has none: one receiver's trouble says nothing
    about the next receiver's.)"""

    provider: Provider
    breaker: CircuitBreaker | None
    slots: asyncio.Semaphore

    def __post_init__(self) -> None:
        self._timers = {
            outcome: PROVIDER_DURATION.labels(self.name, outcome.value) for outcome in Outcome
        }
        self._rate_limited = PROVIDER_RATE_LIMITED.labels(self.name)
        self._circuit = CIRCUIT_STATE.labels(self.name) if self.breaker is not None else None
        self.show_circuit()

    @property
    def name(self) -> str:
        return self.provider.name

    def observe(self, result: SendResult, seconds: float) -> None:
        if not metrics.recording():
            return
        self._timers[result.outcome].observe(seconds)
        if result.outcome is Outcome.RETRY and result.retry_after is not None:
            self._rate_limited.inc()  # the provider said when to come back

    def show_circuit(self) -> None:
        if self._circuit is not None and self.breaker is not None:
            self._circuit.set(CIRCUIT_CODES[self.breaker.state])


class ChannelRoute:
    """Sends through the first provider of the chain that can take the message."""

    def __init__(self, chain: Sequence[Guarded], *, timeout: float = 30.0) -> None:
        self.chain = list(chain)
        self.name = "+".join(g.name for g in self.chain)
        self._timeout = timeout

    async def send(self, message: OutgoingMessage) -> SendResult:
        last: SendResult | None = None
        for guarded in self.chain:
            breaker = guarded.breaker
            if breaker is not None and not breaker.allow():
                continue
            started = time.perf_counter()
            try:
                if tracing.active():
                    result = await self._traced(guarded, message)
                else:
                    result = await self._attempt(guarded, message)
            except BaseException:
                if breaker is not None:  # cancelled: a probe must not stay out for ever
                    breaker.record(fault=True)
                    guarded.show_circuit()
                raise
            guarded.observe(result, time.perf_counter() - started)
            if breaker is not None:
                before = breaker.record(result.provider_fault)
                if before is not breaker.state:
                    guarded.show_circuit()
                    log.warning(
                        "delivery.circuit.changed", provider=guarded.name, circuit=breaker.state
                    )
            if result.outcome is Outcome.SENT or not result.provider_fault:
                return result
            last = result
        if last is not None:
            return last
        wait = min(g.breaker.wait_left() for g in self.chain if g.breaker is not None)
        return SendResult.retry(self.name, f"{self.name}: circuit open", retry_after=wait)

    async def _traced(self, guarded: Guarded, message: OutgoingMessage) -> SendResult:
        """The provider call as a client span of the notification's delivery."""
        with tracing.tracer().start_as_current_span(
            f"send {guarded.name}", kind=SpanKind.CLIENT
        ) as span:
            span.set_attribute("clarion.provider", guarded.name)
            span.set_attribute("clarion.channel", message.channel.value)
            result = await self._attempt(guarded, message)
            span.set_attribute("clarion.outcome", result.outcome.value)
            if result.outcome is not Outcome.SENT:
                span.set_status(Status(StatusCode.ERROR, result.outcome.value))
            return result

    async def _attempt(self, guarded: Guarded, message: OutgoingMessage) -> SendResult:
        name, own = guarded.name, guarded.breaker is not None
        async with guarded.slots:
            try:
                async with asyncio.timeout(self._timeout):
                    return await guarded.provider.send(message)
            except TimeoutError:
                log.warning("delivery.provider.timed_out", provider=name)
                return SendResult.retry(name, f"{name}: timed out", provider_fault=own)
            except Exception as exc:
                # a provider that raises has not said the message is bad: retry it
                log.warning("delivery.provider.crashed", provider=name, error=type(exc).__name__)
                return SendResult.retry(name, f"{name}: {type(exc).__name__}", provider_fault=own)
