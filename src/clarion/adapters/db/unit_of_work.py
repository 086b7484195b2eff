"""One session, one transaction, every repository on it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clarion.adapters.db.contacts import SqlContacts
from clarion.adapters.db.idempotency import SqlIdempotencyStore
from clarion.adapters.db.identity import SqlApiKeys, SqlAuditTrail, SqlRefreshTokens, SqlUsers
from clarion.adapters.db.inbox import SqlInbox
from clarion.adapters.db.notifications import SqlNotifications
from clarion.adapters.db.receipts import SqlReceipts
from clarion.observability.logging import get_logger
from clarion.ports import (
    ApiKeyRepository,
    AuditTrail,
    ContactRepository,
    IdempotencyStore,
    InboxRepository,
    NotificationRepository,
    ReceiptRepository,
    RefreshTokenRepository,
    UserRepository,
)

log = get_logger(__name__)


class SqlUnitOfWork:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.session = sessions()
        self.users: UserRepository = SqlUsers(self.session)
        self.refresh_tokens: RefreshTokenRepository = SqlRefreshTokens(self.session)
        self.api_keys: ApiKeyRepository = SqlApiKeys(self.session)
        self.audit: AuditTrail = SqlAuditTrail(self.session)
        self.notifications: NotificationRepository = SqlNotifications(self.session)
        self.receipts: ReceiptRepository = SqlReceipts(self.session)
        self.contacts: ContactRepository = SqlContacts(self.session)
        self.inbox: InboxRepository = SqlInbox(self.session)
        self.idempotency: IdempotencyStore = SqlIdempotencyStore(sessions, self.session)
        self._after_commit: list[Callable[[], Awaitable[None]]] = []

    def after_commit(self, callback: Callable[[], Awaitable[None]]) -> None:
        self._after_commit.append(callback)

    async def commit(self) -> None:
        await self.session.commit()
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            try:
                await callback()
            except Exception as exc:
                # The data is committed; what the callback failed to do (publish)
                # the outbox sweeper does later. Never fail the request for it.
                log.warning("db.after_commit.failed", error=type(exc).__name__)

    async def rollback(self) -> None:
        self._after_commit.clear()
        await self.session.rollback()

    async def close(self) -> None:
        await self.session.close()
