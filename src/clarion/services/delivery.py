"""Deliver claimed notifications through their channel's provider and decide
what each outcome means: sent, retried later, or dead-lettered."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from clarion.domain.anonymise import ANONYMISED_ADDRESS
from clarion.domain.content import (
    Content,
    EmailContent,
    PushContent,
    SmsContent,
    WebhookContent,
    as_payload,
    is_templated,
)
from clarion.domain.delivery import Outcome, OutgoingMessage, SendResult, correlation_of
from clarion.domain.enums import Channel, EventType, NotificationStatus
from clarion.domain.notifications import NotificationRecord, RetryPolicy, retry_at
from clarion.domain.pipeline import Claimed, DeliveryOutcome
from clarion.observability import tracing
from clarion.observability.context import begin_notification, end_scope
from clarion.observability.logging import get_logger
from clarion.ports import Provider

log = get_logger(__name__)
S = NotificationStatus


def recipients_for(claimed: Claimed) -> tuple[str, ...]:
    """Every address this notification goes to: the content's own, else the
    user's contact for the channel (push: each registered device)."""
    content = claimed.content
    if isinstance(content, EmailContent):
        if content.to:
            return (content.to,)
        # an anonymised account's pseudonym is no address
        return () if claimed.user_email.endswith(ANONYMISED_ADDRESS) else (claimed.user_email,)
    if isinstance(content, SmsContent):
        number = content.to or claimed.phone
        return (number,) if number else ()
    if isinstance(content, PushContent):
        return (content.token,) if content.token else claimed.devices
    if isinstance(content, WebhookContent):
        return (content.url,)
    return (str(claimed.record.user_id),)


def outgoing(claimed: Claimed, content: Content, recipient: str) -> OutgoingMessage:
    record = claimed.record
    return OutgoingMessage(
        notification_id=record.id,
        user_id=record.user_id,
        channel=record.channel,
        priority=record.priority,
        recipient=recipient,
        content=content,
        attempt=record.attempts,
    )


def unreachable(claimed: Claimed) -> SendResult | None:
    """A notification that cannot be sent: its template did not render, or it
    has no address. (One that may not be sent never gets here: see consent.)"""
    channel = claimed.record.channel
    if claimed.content is None:
        return SendResult.permanent("template", claimed.render_error or "not rendered")
    if not recipients_for(claimed):
        missing = {Channel.SMS: "no phone number", Channel.PUSH: "no registered device"}
        return SendResult.permanent("none", f"{missing.get(channel, 'no address')} on file")
    return None


def combined(results: Sequence[SendResult]) -> SendResult:
    """One result for a push to several devices: sent if any device took it."""
    if len(results) == 1:
        return results[0]
    for result in results:
        if result.outcome is Outcome.SENT:
            return result
    retries = [r for r in results if r.outcome is Outcome.RETRY]
    if retries:
        waits = [r.retry_after for r in retries if r.retry_after is not None]
        return replace(retries[0], retry_after=max(waits) if waits else None)
    return results[0]


class Deliverer:
    """Sends a batch with bounded concurrency and turns results into outcomes."""

    def __init__(
        self,
        providers: Mapping[Channel, Provider],
        policy: RetryPolicy,
        *,
        concurrency: int = 50,
        send_timeout: float = 30.0,
        rng: Callable[[float, float], float] = random.uniform,
    ) -> None:
        self._send_timeout = send_timeout
        self._providers = providers
        self._policy = policy
        self._slots = asyncio.Semaphore(concurrency)
        self._rng = rng

    async def deliver(
        self,
        batch: Sequence[Claimed],
        clock: Callable[[], datetime],
        on_outcome: Callable[[DeliveryOutcome], None] | None = None,
        traces: Mapping[uuid.UUID, str] | None = None,
    ) -> list[DeliveryOutcome]:
        """Send every notification of the batch; `on_outcome` hears each outcome
        as soon as its provider answered, so it can be recorded before the
        slowest send of the batch is done. `clock` is read when the provider has
        answered: a retry's delay (a Retry-After among them) counts from the
        answer, not from before the request. `traces`: the trace context each
        notification's queue message carried (tracing on): its sends are spans
        of that trace."""

        async def one(claimed: Claimed) -> DeliveryOutcome:
            record = claimed.record
            # the lines written while it is sent (providers, httpx) are about it;
            # not beyond: what on_outcome starts serves the whole batch
            scope = begin_notification(record.id, correlation_of(record.metadata))
            try:
                if traces is not None:
                    pairs = await self._traced(claimed, traces.get(record.id))
                else:
                    pairs = await self._send_all(claimed)
            finally:
                end_scope(scope)
            outcome = self.decide(claimed.record, combined([r for _, r in pairs]), clock())
            forget = tuple(address for address, r in pairs if r.forget_recipient)
            if forget:
                outcome = replace(outcome, forget=forget)
            if claimed.content is not None and is_templated(claimed.record.payload):
                # headers carry an unsubscribe link: made at each send, never stored
                content = {k: v for k, v in as_payload(claimed.content).items() if k != "headers"}
                rendered = {**claimed.record.payload, **content}
                outcome = replace(outcome, payload=rendered)
            if on_outcome is not None:
                on_outcome(outcome)
            return outcome

        return list(await asyncio.gather(*(one(c) for c in batch)))

    async def _traced(
        self, claimed: Claimed, traceparent: str | None
    ) -> list[tuple[str, SendResult]]:
        """The delivery as a consumer span in the notification's own trace."""
        record = claimed.record
        with tracing.tracer().start_as_current_span(
            f"deliver {record.channel.value}",
            context=tracing.context_of(traceparent),
            kind=tracing.SpanKind.CONSUMER,
        ) as span:
            span.set_attribute("clarion.notification.channel", record.channel.value)
            span.set_attribute("clarion.notification.priority", record.priority.value)
            span.set_attribute("clarion.notification.attempt", record.attempts)
            return await self._send_all(claimed)

    async def _send_all(self, claimed: Claimed) -> list[tuple[str, SendResult]]:
        """(address, result) for every address of the notification."""
        refused = unreachable(claimed)
        if refused is not None:
            return [("", refused)]
        content = claimed.content
        assert content is not None  # claim or render gave it one, else it was refused
        addresses = recipients_for(claimed)
        if len(addresses) == 1:  # nearly always: no task of its own
            return [(addresses[0], await self._send(outgoing(claimed, content, addresses[0])))]
        results = await asyncio.gather(
            *(self._send(outgoing(claimed, content, a)) for a in addresses)
        )
        return list(zip(addresses, results, strict=True))

    async def _send(self, message: OutgoingMessage) -> SendResult:
        provider = self._providers[message.channel]
        async with self._slots:
            try:
                # well under the claim lease: a hung provider must not hold a batch
                # until the sweeper hands its rows to another worker
                async with asyncio.timeout(self._send_timeout):
                    return await provider.send(message)
            except TimeoutError:
                log.warning("delivery.provider.timed_out", provider=provider.name)
                return SendResult.retry(provider.name, f"{provider.name}: timed out")
            except Exception as exc:
                # A provider that raises has not said the message is bad: retry it.
                log.warning(
                    "delivery.provider.crashed", provider=provider.name, error=type(exc).__name__
                )
                return SendResult.retry(provider.name, f"{provider.name}: {type(exc).__name__}")

    def decide(
        self, record: NotificationRecord, result: SendResult, now: datetime
    ) -> DeliveryOutcome:
        sent = DeliveryOutcome.of(record, S.SENT, EventType.SENT, provider=result.provider)
        attempt = record.attempts
        if result.outcome is Outcome.SENT:
            return replace(
                sent,
                provider_message_id=result.provider_message_id,
                event_metadata={"attempt": attempt, "provider": result.provider},
            )
        permanent = result.outcome is Outcome.PERMANENT
        if permanent or self._policy.exhausted(attempt):
            return replace(
                sent,
                status=S.FAILED,
                event=EventType.FAILED,
                error=result.error,
                event_metadata={
                    "attempt": attempt,
                    "error": result.error,
                    "permanent": permanent,
                    "deadLetter": True,
                },
            )
        delay = self._policy.delay(attempt, retry_after=result.retry_after, rng=self._rng)
        return replace(
            sent,
            status=S.PENDING,
            event=EventType.RETRIED,
            error=result.error,
            next_attempt_at=retry_at(now, delay),
            event_metadata={
                "attempt": attempt,
                "error": result.error,
                "delaySeconds": round(delay, 3),
                "retryAfter": result.retry_after,
            },
        )
