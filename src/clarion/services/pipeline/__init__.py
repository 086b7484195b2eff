"""The delivery pipeline: a batch of queue messages through its stages.

claim → consent → render → send → record (as providers answer) → after-commit
effects. Each stage is a plain async function over the whole batch (`claim`,
`consent`, `render`, `send`, `record`, `effects`); no stage opens a transaction
per notification.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Sequence
from datetime import datetime

from clarion.domain.content import INTERRUPTIVE
from clarion.domain.delivery import QueueMessage
from clarion.domain.enums import Channel, Priority
from clarion.domain.pipeline import DeliveryOutcome
from clarion.domain.time import utcnow
from clarion.observability import tracing
from clarion.ports import Cache, Fanout, Queue, UnitOfWork
from clarion.services.cache_keys import forget_notifications
from clarion.services.delivery import Deliverer
from clarion.services.inbox import announce_sent
from clarion.services.pipeline.claim import claim
from clarion.services.pipeline.consent import consent
from clarion.services.pipeline.effects import announce_dead_letters, schedule_retries
from clarion.services.pipeline.measure import measure
from clarion.services.pipeline.outcome_log import log_outcomes
from clarion.services.pipeline.record import Recorder
from clarion.services.pipeline.render import render
from clarion.services.rendering import Renderer
from clarion.services.templates import TemplateService
from clarion.services.unsubscribe import UnsubscribeLinks


class DeliveryPipeline:
    def __init__(
        self,
        *,
        queue: Queue,
        uow_factory: Callable[[], UnitOfWork],
        deliverer: Deliverer,
        cache: Cache,
        clock: Callable[[], datetime] = utcnow,
        fanout: Fanout | None = None,
        templates: TemplateService | None = None,
        unsubscribe: UnsubscribeLinks | None = None,
        quiet_channels: Collection[Channel] = INTERRUPTIVE,
    ) -> None:
        """`unsubscribe`: signs the List-Unsubscribe link of MARKETING email;
        without it (tests of other stages) marketing email goes without one.
        `quiet_channels`: the channels a user's quiet hours hold back."""
        self._queue = queue
        self._uow_factory = uow_factory
        self._deliverer = deliverer
        self._cache = cache
        self._clock = clock
        self._fanout = fanout
        self._templates = templates or TemplateService(cache=cache, renderer=Renderer())
        self._unsubscribe = unsubscribe
        self._quiet_channels = frozenset(quiet_channels)

    async def run(self, messages: Sequence[QueueMessage]) -> list[DeliveryOutcome]:
        """One batch: claims are committed before anything is sent, outcomes
        before this returns (and so before the caller acknowledges)."""
        if not tracing.active():
            return await self._run(messages, None)
        # the batch is a trace of its own, linked to each notification's trace
        traces = {m.notification_id: m.traceparent for m in messages if m.traceparent}
        links = [link for t in traces.values() if (link := tracing.link_to(t)) is not None]
        with tracing.tracer().start_as_current_span(
            "deliver batch", context=tracing.new_trace(), links=links
        ) as span:
            span.set_attribute("messaging.batch.message_count", len(messages))
            return await self._run(messages, traces)

    async def _run(
        self, messages: Sequence[QueueMessage], traces: dict[uuid.UUID, str] | None
    ) -> list[DeliveryOutcome]:
        claimed_at = self._clock()  # also the claim's token: outcomes need it to land
        # a batch holds one lane: URGENT work's writes go ahead of others waiting
        urgent = all(m.priority is Priority.URGENT for m in messages)
        units = self._hurried if urgent else self._uow_factory
        claimed = await claim(units, [m.notification_id for m in messages], claimed_at)
        if not claimed:
            return []
        records = {c.record.id: c.record for c in claimed}
        recorder = Recorder(units, self._clock, claimed_at=claimed_at)
        try:
            claimed, outcomes = await consent(
                self._uow_factory, claimed, self._clock(), self._quiet_channels
            )
            for outcome in outcomes:
                recorder.add(outcome)
            claimed = await render(self._uow_factory, self._templates, claimed)
            if self._unsubscribe is not None:
                claimed = self._unsubscribe.add_to(claimed, self._clock())
            outcomes += await self._deliverer.deliver(
                claimed, self._clock, recorder.add, traces=traces
            )
        finally:
            stored = await recorder.finish()
        measure(records, outcomes, stored, self._clock())
        if self._fanout is not None:
            await announce_sent(self._fanout, claimed, outcomes, stored, self._clock())
        await schedule_retries(self._uow_factory, self._queue, claimed, outcomes, stored)
        await announce_dead_letters(self._queue, claimed, outcomes, stored)
        await forget_notifications(self._cache, {o.notification_id: o.user_id for o in outcomes})
        log_outcomes(messages, outcomes, stored)
        return outcomes

    def _hurried(self) -> UnitOfWork:
        uow = self._uow_factory()
        uow.hurry()
        return uow
