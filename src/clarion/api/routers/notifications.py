"""`/notifications`: accept, read, change and cancel notifications."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from clarion.api.batch_json import BatchAnswer
from clarion.api.cursors import decode_cursor, encode_cursor
from clarion.api.deps import (
    ContainerDep,
    GroupedUowDep,
    PrincipalDep,
    ReadUowDep,
    UowDep,
    charge_notifications,
)
from clarion.api.errors import error_body, error_path
from clarion.api.idempotency import MAX_KEY_LENGTH, idempotent, request_hash
from clarion.api.notification_schemas import (
    AnyNotification,
    BatchResult,
    EventOut,
    NotificationBatch,
    NotificationCreate,
    NotificationCreateAdapter,
    NotificationOut,
    NotificationPage,
    NotificationUpdate,
    TemplatedFields,
)
from clarion.api.openapi import errors
from clarion.api.responses import Json
from clarion.api.schemas import Moment
from clarion.bootstrap import Container
from clarion.domain.delivery import CORRELATION_ID
from clarion.domain.enums import Channel, NotificationStatus, NotificationType, Priority
from clarion.domain.errors import ClarionError, InvalidInput, field_error
from clarion.domain.identity import Principal, Scope
from clarion.domain.notifications import NewNotification
from clarion.domain.pipeline import NotificationQuery, Page
from clarion.observability.context import current_correlation_id
from clarion.ports import UnitOfWork
from clarion.services.cache_keys import (
    NOTIFICATION_TTL,
    USER_LIST_TTL,
    forget_notifications,
    notification_key,
    user_list_key,
    user_tag,
)
from clarion.services.notifications import may_see

router = APIRouter(prefix="/notifications", tags=["notifications"])
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=MAX_KEY_LENGTH,
        description="Replays the first answer for 24 hours; another body with it is 422.",
    ),
]


def new_notification(body: AnyNotification, correlation_id: str | None) -> NewNotification:
    """`correlation_id`: the accepting request's, kept in the metadata (the
    caller's own metadata is kept; a correlationId of theirs is replaced)."""
    metadata = body.metadata
    if correlation_id is not None:
        metadata = {**(metadata or {}), CORRELATION_ID: correlation_id}
    return NewNotification(
        user_id=body.user_id,
        channel=body.channel,
        type=body.type,
        priority=body.priority,
        payload=payload_of(body),
        metadata=metadata,
        scheduled_for=body.scheduled_for,
    )


def payload_of(body: AnyNotification) -> dict[str, Any]:
    """What is stored: the content, or the template, its variables and an address."""
    if not isinstance(body, TemplatedFields):
        return body.payload.model_dump(exclude_none=True)
    address = body.payload.model_dump(exclude_none=True) if body.payload else {}
    template = body.template.model_dump(exclude_none=True)
    return {"template": template, "variables": body.variables, **address}


def url_refusal(container: Container, item: NewNotification) -> InvalidInput | None:
    """A webhook to an address the policy refuses (loopback, private) is bad input."""
    if item.channel is not Channel.WEBHOOK:
        return None
    refused = container.webhook_policy.refusal(str(item.payload["url"]))
    if refused is None:
        return None
    return InvalidInput(
        "The webhook URL is not allowed.", details=[field_error("payload.url", refused)]
    )


def dump(model: NotificationOut) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=NotificationOut,
    responses=errors(409),
)
async def create_notification(
    body: NotificationCreate,
    principal: PrincipalDep,
    uow: GroupedUowDep,
    container: ContainerDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def handle() -> tuple[int, Any]:
        item = new_notification(body, current_correlation_id())
        if refused := url_refusal(container, item):
            raise refused
        container.notifications.authorize(principal, [item])
        await charge_notifications(container, request, principal, 1)
        if refused := (await container.templates.pin(uow, [item]))[0]:
            raise refused
        [record] = await container.notifications.accept(uow, principal, [item])
        await container.cache.invalidate_tag(user_tag(record.user_id))
        return 201, dump(NotificationOut.of(record))

    def fingerprint() -> str:
        return request_hash("/notifications", body.model_dump(mode="json"))

    return await idempotent(uow, principal, idempotency_key, fingerprint, handle)


@router.post(
    "/batch",
    response_model=BatchResult,
    summary="Up to 1,000 notifications",
    responses=errors(409),
)
async def create_batch(
    body: NotificationBatch,
    principal: PrincipalDep,
    uow: GroupedUowDep,
    container: ContainerDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def handle() -> tuple[int, Any]:
        valid: list[tuple[int, NewNotification]] = []
        answer = BatchAnswer()
        correlation_id = current_correlation_id()  # the request's, for every item
        for index, raw in enumerate(body.notifications):
            try:
                item = new_notification(
                    NotificationCreateAdapter.validate_python(raw), correlation_id
                )
            except ValidationError as exc:
                answer.refused(index, 422, item_error(exc))
                continue
            if refused := url_refusal(container, item):
                item_refused(answer, index, refused)
                continue
            valid.append((index, item))
        # a caller who may not send one of the items is refused the whole batch
        # (403) before anything about the recipients is looked up
        container.notifications.authorize(principal, [item for _, item in valid])
        await charge_notifications(container, request, principal, len(valid))
        pinned = await container.templates.pin(uow, [item for _, item in valid])
        kept = []
        for (index, item), refused in zip(valid, pinned, strict=True):
            if refused is None:
                kept.append((index, item))
            else:
                item_refused(answer, index, refused)
        unknown = await container.notifications.unknown_recipients(
            uow, principal, {item.user_id for _, item in kept}
        )
        valid = []
        for index, item in kept:
            if item.user_id in unknown:
                details = [field_error("userId", "no such user", kind="not_found")]
                item_refused(answer, index, InvalidInput("No such user.", details=details))
            else:
                valid.append((index, item))
        # authorised and recipients checked above: stored without looking again
        records = await container.notifications.store(uow, [i for _, i in valid])
        for (index, _), record in zip(valid, records, strict=True):
            answer.created(index, record)
        await container.cache.invalidate_tag(*{user_tag(r.user_id) for r in records})
        return 200, answer.body(len(body.notifications), len(records))

    def fingerprint() -> str:
        return request_hash("/notifications/batch", body.model_dump(mode="json"))

    return await idempotent(uow, principal, idempotency_key, fingerprint, handle)


def item_refused(answer: BatchAnswer, index: int, error: ClarionError) -> None:
    body = error_body(error.status, error.code, error.message, error.details)
    answer.refused(index, error.status, body)


def item_error(exc: ValidationError) -> dict[str, Any]:
    details = [
        {
            "location": "body",
            "field": error_path(error["loc"], error["type"]),
            "message": error["msg"],
            "type": error["type"],
        }
        for error in exc.errors()
    ]
    return error_body(422, "validation_error", "The notification has invalid fields.", details)


def page_out(page: Page) -> NotificationPage:
    return NotificationPage(
        items=[NotificationOut.of(r) for r in page.items], next_cursor=encode_cursor(page.last)
    )


Statuses = Annotated[list[NotificationStatus] | None, Query(alias="status")]
Channels = Annotated[list[Channel] | None, Query(alias="channel")]
Types = Annotated[list[NotificationType] | None, Query(alias="type")]
Priorities = Annotated[list[Priority] | None, Query(alias="priority")]
Limit = Annotated[int, Query(ge=1, le=200)]


def build_query(
    user_id: uuid.UUID | None,
    statuses: list[NotificationStatus] | None,
    channels: list[Channel] | None,
    types: list[NotificationType] | None,
    priorities: list[Priority] | None,
    created_from: datetime | None,
    created_to: datetime | None,
    cursor: str | None,
    limit: int,
) -> NotificationQuery:
    return NotificationQuery(
        user_id=user_id,
        statuses=tuple(statuses or ()),
        channels=tuple(channels or ()),
        types=tuple(types or ()),
        priorities=tuple(priorities or ()),
        created_from=created_from,
        created_to=created_to,
        after=decode_cursor(cursor),
        limit=limit,
    )


@router.get("", response_model=NotificationPage, summary="Own notifications (all for admins)")
async def list_notifications(
    principal: PrincipalDep,
    uow: ReadUowDep,
    container: ContainerDep,
    statuses: Statuses = None,
    channels: Channels = None,
    types: Types = None,
    priorities: Priorities = None,
    created_from: Annotated[Moment | None, Query(alias="createdFrom")] = None,
    created_to: Annotated[Moment | None, Query(alias="createdTo")] = None,
    cursor: str | None = None,
    limit: Limit = 50,
) -> JSONResponse:
    query = build_query(
        None, statuses, channels, types, priorities, created_from, created_to, cursor, limit
    )
    return await cached_page(container, uow, principal, query)


@router.get("/user/{user_id:uuid}", response_model=NotificationPage)
async def list_for_user(
    user_id: uuid.UUID,
    principal: PrincipalDep,
    uow: ReadUowDep,
    container: ContainerDep,
    statuses: Statuses = None,
    cursor: str | None = None,
    limit: Limit = 50,
) -> JSONResponse:
    query = build_query(user_id, statuses, None, None, None, None, None, cursor, limit)
    return await cached_page(container, uow, principal, query)


async def cached_page(
    container: Container, uow: UnitOfWork, principal: Principal, query: NotificationQuery
) -> JSONResponse:
    """One user's pages are cached (cache-aside, 60 s, dropped with the user's tag
    on every change to their notifications); pages across all users are not."""
    query = container.notifications.scoped(principal, query)
    key = None
    if query.user_id is not None:
        digest = hashlib.sha256(json.dumps(asdict(query), default=str).encode()).hexdigest()
        key = user_list_key(query.user_id, digest[:32])
        cached = await container.cache.get(key)
        if cached is not None:
            return Json(json.loads(cached))
    data = page_out(await uow.notifications.page(query)).model_dump(mode="json", by_alias=True)
    if key is not None and query.user_id is not None:
        await container.cache.fill(
            key, json.dumps(data).encode(), USER_LIST_TTL, tags=(user_tag(query.user_id),)
        )
    return Json(data)


@router.get("/{notification_id:uuid}", response_model=NotificationOut)
async def get_notification(
    notification_id: uuid.UUID, principal: PrincipalDep, uow: ReadUowDep, container: ContainerDep
) -> JSONResponse:
    key = notification_key(notification_id)
    cached = await container.cache.get(key)
    if cached is not None:
        data = json.loads(cached)
        if principal.may(Scope.NOTIFICATIONS_READ) and may_see(
            principal, uuid.UUID(data["userId"])
        ):
            return Json(data)
    record = await container.notifications.visible(uow, principal, notification_id)
    data = dump(NotificationOut.of(record))
    await container.cache.fill(
        key, json.dumps(data).encode(), NOTIFICATION_TTL, tags=(user_tag(record.user_id),)
    )
    return Json(data)


@router.get("/{notification_id:uuid}/events", response_model=list[EventOut])
async def get_events(
    notification_id: uuid.UUID, principal: PrincipalDep, uow: ReadUowDep, container: ContainerDep
) -> list[EventOut]:
    await container.notifications.visible(uow, principal, notification_id)
    return [EventOut.of(e) for e in await uow.notifications.events(notification_id)]


@router.patch("/{notification_id:uuid}", response_model=NotificationOut, responses=errors(409))
async def update_notification(
    notification_id: uuid.UUID,
    body: NotificationUpdate,
    principal: PrincipalDep,
    uow: UowDep,
    container: ContainerDep,
) -> NotificationOut:
    service = container.notifications
    if body.status == "CANCELLED":
        record = await service.cancel(uow, principal, notification_id)
    else:
        record = await service.edit(
            uow,
            principal,
            notification_id,
            scheduled_for=body.scheduled_for,
            clear_schedule="scheduled_for" in body.model_fields_set and body.scheduled_for is None,
            priority=body.priority,
            metadata=body.metadata,
        )
    await forget(container, notification_id, record.user_id)
    return NotificationOut.of(record)


@router.delete(
    "/{notification_id:uuid}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(409)
)
async def cancel_notification(
    notification_id: uuid.UUID, principal: PrincipalDep, uow: UowDep, container: ContainerDep
) -> Response:
    record = await container.notifications.cancel(uow, principal, notification_id)
    await forget(container, notification_id, record.user_id)
    return Response(status_code=204)


async def forget(container: Container, notification_id: uuid.UUID, user_id: uuid.UUID) -> None:
    await forget_notifications(container.cache, {notification_id: user_id})
