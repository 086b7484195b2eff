"""Accepting and managing notifications: who may do what, and what it does."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from clarion.domain.content import ADDRESS_FIELDS, queue_key
from clarion.domain.delivery import CORRELATION_ID, QueueMessage, correlation_of
from clarion.domain.enums import Channel, NotificationStatus, Priority
from clarion.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, field_error
from clarion.domain.identity import Principal, RequestContext, Scope
from clarion.domain.notifications import (
    EDITABLE,
    NewNotification,
    NotificationRecord,
)
from clarion.domain.pipeline import NotificationQuery, Page
from clarion.domain.time import utcnow
from clarion.observability import tracing
from clarion.observability.metrics import count_notifications
from clarion.ports import Queue, UnitOfWork
from clarion.services.outbox import Confirmations, publish_committed
from clarion.services.users import audit_entry, require_admin

S = NotificationStatus


def require(principal: Principal, scope: Scope) -> None:
    if not principal.may(scope):
        raise Forbidden(f"This needs the {scope.value} scope.")


def may_target(principal: Principal, user_id: uuid.UUID) -> bool:
    """Admins and write-scoped keys address anyone; a user only themself."""
    if principal.is_admin or principal.kind == "api_key":
        return principal.may(Scope.NOTIFICATIONS_WRITE)
    return principal.user_id == user_id


def may_address(principal: Principal) -> bool:
    """Explicit addresses, device tokens and webhook URLs are for admins and keys
    with notifications:write; a user's notifications go to their own contacts."""
    return (principal.is_admin or principal.kind == "api_key") and principal.may(
        Scope.NOTIFICATIONS_WRITE
    )


def refusal(principal: Principal, item: NewNotification) -> Forbidden | None:
    """Why the principal may not send this notification, or None."""
    if not may_target(principal, item.user_id):
        return Forbidden("You may send notifications only to yourself.")
    if may_address(principal):
        return None
    if item.channel is Channel.WEBHOOK:
        return Forbidden(
            "Only admins and API keys with notifications:write may send webhooks.",
            details=[field_error("channel", "webhooks need an admin or an API key")],
        )
    name = ADDRESS_FIELDS.get(item.channel)
    if name is not None and name in item.payload:
        return Forbidden(
            f"Only admins and API keys with notifications:write may set payload.{name}.",
            details=[
                field_error(
                    f"payload.{name}",
                    "leave it out: your notifications go to your own contacts",
                )
            ],
        )
    return None


def may_read_all(principal: Principal) -> bool:
    return principal.is_admin or (
        principal.kind == "api_key" and Scope.NOTIFICATIONS_READ in principal.scopes
    )


class NotificationService:
    def __init__(
        self, *, queue: Queue, uow_factory: Callable[[], UnitOfWork], confirm_publish: bool
    ) -> None:
        """`confirm_publish`: record each publish once the queue accepted it.
        The in-process queue cannot refuse a message, and what it held is
        republished at start, so for it rows are stored as published at once,
        saving a write per request."""
        self._queue = queue
        self._confirm = confirm_publish
        self.confirmations = Confirmations(uow_factory)

    async def accept(
        self, uow: UnitOfWork, principal: Principal, items: Sequence[NewNotification]
    ) -> list[NotificationRecord]:
        """Store the notifications and their CREATED events in the caller's
        transaction; publish the ready ones once it commits."""
        self.authorize(principal, items)
        missing = await self.unknown_recipients(uow, principal, {i.user_id for i in items})
        if missing:
            raise InvalidInput(
                "No such user.",
                details=[field_error("userId", "no such user", kind="not_found")],
            )
        return await self.store(uow, items)

    async def store(
        self, uow: UnitOfWork, items: Sequence[NewNotification]
    ) -> list[NotificationRecord]:
        """Store notifications the caller was authorised for and whose recipients
        exist (a batch checks both itself, to answer per item)."""
        now = utcnow()
        if any(item.priority is Priority.URGENT for item in items):
            uow.hurry()
        await uow.notifications.add_many(items, now, published=not self._confirm)
        ready = [
            QueueMessage(
                notification_id=item.id,
                user_id=item.user_id,
                channel=item.channel,
                priority=item.priority,
                attempt=1,
                key=queue_key(item.channel, item.payload, item.user_id),
                correlation_id=correlation_of(item.metadata),
            )
            for item in items
            if item.initial_status(now) is S.PENDING
        ]
        if ready:
            uow.after_commit(lambda: self.publish(ready))
        accepted = [(i.channel.value, i.priority.value, i.initial_status(now).value) for i in items]

        async def counted() -> None:
            count_notifications(accepted)

        uow.after_commit(counted)
        return [stored(item, now) for item in items]

    def authorize(self, principal: Principal, items: Sequence[NewNotification]) -> None:
        """Checked before anything about the recipients is looked up, so a refused
        caller learns nothing about which user ids exist."""
        require(principal, Scope.NOTIFICATIONS_WRITE)
        for item in items:
            if refused := refusal(principal, item):
                raise refused

    async def publish(self, messages: Sequence[QueueMessage]) -> None:
        if tracing.active():
            with tracing.tracer().start_as_current_span(
                "publish notifications", kind=tracing.SpanKind.PRODUCER
            ) as span:
                span.set_attribute("messaging.batch.message_count", len(messages))
                context = tracing.current_traceparent()
                await self._publish([replace(m, traceparent=context) for m in messages])
        else:
            await self._publish(messages)

    async def _publish(self, messages: Sequence[QueueMessage]) -> None:
        if self._confirm:
            await publish_committed(self._queue, self.confirmations, messages)
        else:
            await self._queue.publish(messages)

    async def unknown_users(self, uow: UnitOfWork, user_ids: set[uuid.UUID]) -> set[uuid.UUID]:
        return user_ids - await uow.users.existing(user_ids)

    async def unknown_recipients(
        self, uow: UnitOfWork, principal: Principal, user_ids: set[uuid.UUID]
    ) -> set[uuid.UUID]:
        # a signed-in user was just read by authentication: no need to look again
        others = user_ids - {principal.user_id} if principal.user_id else user_ids
        return await self.unknown_users(uow, others) if others else set()

    async def visible(
        self,
        uow: UnitOfWork,
        principal: Principal,
        notification_id: uuid.UUID,
        scope: Scope = Scope.NOTIFICATIONS_READ,
    ) -> NotificationRecord:
        """The notification, if the principal holds `scope` and may reach it:
        the missing scope is 403 for every id; someone else's notification
        looks absent (404), like one that does not exist."""
        require(principal, scope)
        record = await uow.notifications.get(notification_id)
        reach = may_see if scope is Scope.NOTIFICATIONS_READ else may_target
        if record is None or not reach(principal, record.user_id):
            raise NotFound("No such notification.")
        return record

    def scoped(self, principal: Principal, query: NotificationQuery) -> NotificationQuery:
        """The query the principal may run: their own notifications unless they
        may read everyone's."""
        require(principal, Scope.NOTIFICATIONS_READ)
        if query.user_id is not None and not may_see(principal, query.user_id):
            raise NotFound("No such user.")
        if query.user_id is None and not may_read_all(principal):
            return replace(query, user_id=principal.user_id)
        return query

    async def page(self, uow: UnitOfWork, principal: Principal, query: NotificationQuery) -> Page:
        return await uow.notifications.page(self.scoped(principal, query))

    async def edit(
        self,
        uow: UnitOfWork,
        principal: Principal,
        notification_id: uuid.UUID,
        *,
        scheduled_for: datetime | None = None,
        clear_schedule: bool = False,
        priority: Priority | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> NotificationRecord:
        record = await self._writable(uow, principal, notification_id)
        now = utcnow()
        values: dict[str, Any] = {}
        if priority is not None:
            values["priority"] = priority
        if metadata is not None:
            values["metadata_"] = keeping_correlation(record.metadata, metadata)
        if scheduled_for is not None or clear_schedule:
            future = scheduled_for is not None and scheduled_for > now
            values["scheduled_for"] = scheduled_for
            values["status"] = S.SCHEDULED if future else S.PENDING
            values["published_at"] = None
            values["next_attempt_at"] = None
        if values and not await uow.notifications.edit(notification_id, values, now):
            raise Conflict(
                f"The notification is already {await self._status(uow, notification_id)}."
            )
        if values.get("status") is S.PENDING and record.status is S.SCHEDULED:
            message = QueueMessage(
                notification_id=record.id,
                user_id=record.user_id,
                channel=record.channel,
                priority=priority or record.priority,
                attempt=1,
                key=queue_key(record.channel, record.payload, record.user_id),
                correlation_id=correlation_of(record.metadata),
            )
            uow.after_commit(lambda: self.publish([message]))
        return await self.visible(uow, principal, notification_id, Scope.NOTIFICATIONS_WRITE)

    async def cancel(
        self, uow: UnitOfWork, principal: Principal, notification_id: uuid.UUID
    ) -> NotificationRecord:
        await self._writable(uow, principal, notification_id)
        if not await uow.notifications.cancel(notification_id, utcnow()):
            raise Conflict(
                f"The notification is already {await self._status(uow, notification_id)}."
            )
        record = await self.visible(uow, principal, notification_id, Scope.NOTIFICATIONS_WRITE)
        cancelled = [(record.channel.value, record.priority.value, S.CANCELLED.value)]

        async def counted() -> None:
            count_notifications(cancelled)

        uow.after_commit(counted)
        return record

    async def _writable(
        self, uow: UnitOfWork, principal: Principal, notification_id: uuid.UUID
    ) -> NotificationRecord:
        record = await self.visible(uow, principal, notification_id, Scope.NOTIFICATIONS_WRITE)
        if record.status not in EDITABLE:
            raise Conflict(f"The notification is already {record.status.value}.")
        return record

    async def _status(self, uow: UnitOfWork, notification_id: uuid.UUID) -> str:
        record = await uow.notifications.get(notification_id)
        return record.status.value if record else "gone"


def keeping_correlation(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """An edit replaces the metadata, but not the id of the request that accepted it."""
    correlation = correlation_of(old)
    return new if correlation is None else {**new, CORRELATION_ID: correlation}


def may_see(principal: Principal, user_id: uuid.UUID) -> bool:
    return may_read_all(principal) or principal.user_id == user_id


def stored(item: NewNotification, now: datetime) -> NotificationRecord:
    return NotificationRecord(
        id=item.id,
        user_id=item.user_id,
        channel=item.channel,
        type=item.type,
        priority=item.priority,
        status=item.initial_status(now),
        payload=item.payload,
        metadata=item.metadata,
        scheduled_for=item.scheduled_for,
        sent_at=None,
        failed_at=None,
        error_message=None,
        attempts=0,
        next_attempt_at=None,
        provider=None,
        provider_message_id=None,
        created_at=now,
        updated_at=now,
    )


async def redrive(
    service: NotificationService,
    uow: UnitOfWork,
    principal: Principal,
    notification_id: uuid.UUID,
    context: RequestContext,
) -> NotificationRecord:
    """Send a dead letter again from its first attempt (admins; audited)."""
    require_admin(principal)
    record = await uow.notifications.get(notification_id)
    if record is None:
        raise NotFound("No such notification.")
    if not await uow.notifications.redrive(
        notification_id, utcnow(), f"{principal.kind}:{principal.id}"
    ):
        raise Conflict(
            f"Only a FAILED notification can be retried; this one is {record.status.value}."
        )
    await uow.audit.record(
        audit_entry(
            principal,
            "notification.retry",
            "notification",
            notification_id,
            context,
            before={"status": record.status.value, "error": record.error_message},
        )
    )
    message = QueueMessage(
        notification_id=record.id,
        user_id=record.user_id,
        channel=record.channel,
        priority=record.priority,
        attempt=1,
        key=queue_key(record.channel, record.payload, record.user_id),
        correlation_id=correlation_of(record.metadata),
    )
    uow.after_commit(lambda: service.publish([message]))
    refreshed = await uow.notifications.get(notification_id)
    assert refreshed is not None
    return refreshed
