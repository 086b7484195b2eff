"""`/users/me/inbox`: the signed-in user's in-app notifications, and a live
stream of new ones (Server-Sent Events) that works across API processes
through the fan-out (Redis pub/sub when scaled out)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials

from clarion.api.deps import (
    ContainerDep,
    PrincipalDep,
    UowDep,
    api_key_scheme,
    authenticate,
    bearer_scheme,
    current_principal,
)
from clarion.api.notification_schemas import NotificationOut
from clarion.api.openapi import errors
from clarion.api.schemas import Offset, ResponseModel
from clarion.domain.errors import Forbidden, NotFound
from clarion.domain.identity import Principal
from clarion.domain.time import utcnow
from clarion.ports import Fanout
from clarion.services.cache_keys import forget_notifications
from clarion.services.inbox import inbox_channel
from clarion.services.tokens import STREAM_TTL

router = APIRouter(prefix="/users/me/inbox", tags=["inbox"])
HEARTBEAT_SECONDS = 15.0


class InboxPage(ResponseModel):
    items: list[NotificationOut]
    unread: int
    offset: int
    limit: int


class UnreadCount(ResponseModel):
    unread: int


class MarkedRead(ResponseModel):
    marked: int


class StreamToken(ResponseModel):
    token: str
    expires_in: int


def owner(principal: Principal) -> uuid.UUID:
    if principal.user_id is None:
        raise Forbidden("The inbox belongs to a signed-in user, not an API key.")
    return principal.user_id


@router.get("", response_model=InboxPage, summary="In-app notifications, unread first")
async def inbox(
    principal: PrincipalDep,
    uow: UowDep,
    offset: Annotated[Offset, Query()] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    unread_only: Annotated[bool, Query(alias="unreadOnly")] = False,
) -> InboxPage:
    user_id = owner(principal)
    items = await uow.inbox.page(user_id, offset=offset, limit=limit, unread_only=unread_only)
    return InboxPage(
        items=[NotificationOut.of(r) for r in items],
        unread=await uow.inbox.unread(user_id),
        offset=offset,
        limit=limit,
    )


@router.get("/unread-count", response_model=UnreadCount)
async def unread_count(principal: PrincipalDep, uow: UowDep) -> UnreadCount:
    return UnreadCount(unread=await uow.inbox.unread(owner(principal)))


@router.post("/{notification_id}/read", response_model=MarkedRead)
async def mark_read(
    notification_id: uuid.UUID, principal: PrincipalDep, uow: UowDep, container: ContainerDep
) -> MarkedRead:
    user_id = owner(principal)
    if not await uow.inbox.holds(user_id, notification_id):
        raise NotFound("No such notification in your inbox.")
    marked = await uow.inbox.mark_read(user_id, notification_id, utcnow())
    await forget_notifications(container.cache, dict.fromkeys(marked, user_id))
    return MarkedRead(marked=len(marked))


@router.post("/read-all", response_model=MarkedRead, status_code=status.HTTP_200_OK)
async def mark_all_read(
    principal: PrincipalDep, uow: UowDep, container: ContainerDep
) -> MarkedRead:
    user_id = owner(principal)
    marked = await uow.inbox.mark_read(user_id, None, utcnow())
    # every one marked: their own cached views went stale, not only the pages
    await forget_notifications(container.cache, dict.fromkeys(marked, user_id))
    return MarkedRead(marked=len(marked))


@router.post(
    "/stream-token",
    response_model=StreamToken,
    responses=errors(401, 403),
    summary="A 60-second token that opens the live stream from a browser's EventSource",
)
async def stream_token(principal: PrincipalDep, container: ContainerDep) -> StreamToken:
    issued = container.auth.issue_stream_token(owner(principal))
    return StreamToken(token=issued.token, expires_in=int(STREAM_TTL.total_seconds()))


async def stream_caller(
    container: ContainerDep,
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    api_key: Annotated[str | None, Depends(api_key_scheme)],
    token: Annotated[
        str | None,
        Query(max_length=2048, description="A token from POST /users/me/inbox/stream-token."),
    ] = None,
) -> Principal:
    """A header, the console's cookie, or a stream token in the URL (EventSource
    sends no headers); the stream token opens this stream and nothing else."""
    if token is None:
        principal = await authenticate(container, request, bearer, api_key)
    else:
        principal = await container.auth.principal_for_stream_token(container.reading, token)
    return await current_principal(principal, container, request)


@router.get(
    "/stream",
    summary="Live in-app notifications (Server-Sent Events)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream(
    principal: Annotated[Principal, Depends(stream_caller)], container: ContainerDep
) -> StreamingResponse:
    user_id = owner(principal)
    return StreamingResponse(
        events(container.fanout, inbox_channel(user_id)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def events(fanout: Fanout, channel: str) -> AsyncIterator[bytes]:
    """`event: notification` per new entry; a comment every 15 s keeps proxies
    from closing an idle stream."""
    async with fanout.subscribe(channel) as messages:
        # subscribed before the first byte: a client that sees it misses nothing after
        yield b": connected\n\n"
        arrived: asyncio.Queue[bytes] = asyncio.Queue()

        async def pump() -> None:
            async for message in messages:
                await arrived.put(message)

        reader = asyncio.create_task(pump())
        try:
            while True:
                try:
                    payload = await asyncio.wait_for(arrived.get(), HEARTBEAT_SECONDS)
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                yield b"event: notification\ndata: " + payload + b"\n\n"
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
