"""One session, one transaction, every repository on it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clarion.adapters.db.anonymise import SqlAnonymisations
from clarion.adapters.db.audit import SqlAuditTrail
from clarion.adapters.db.contacts import SqlContacts
from clarion.adapters.db.dashboard import SqlDashboard
from clarion.adapters.db.idempotency import SqlIdempotencyStore
from clarion.adapters.db.identity import SqlApiKeys, SqlRefreshTokens, SqlUsers
from clarion.adapters.db.inbox import SqlInbox
from clarion.adapters.db.notifications import SqlNotifications
from clarion.adapters.db.preferences import SqlPreferences
from clarion.adapters.db.receipts import SqlReceipts
from clarion.adapters.db.suppressions import SqlSuppressions
from clarion.adapters.db.templates import SqlTemplates
from clarion.adapters.db.writes import Writes
from clarion.observability.logging import get_logger
from clarion.ports import (
    AnonymisationRepository,
    ApiKeyRepository,
    AuditTrail,
    ContactRepository,
    DashboardReader,
    IdempotencyStore,
    InboxRepository,
    NotificationRepository,
    PreferenceRepository,
    ReceiptRepository,
    RefreshTokenRepository,
    SuppressionRepository,
    TemplateRepository,
    UserRepository,
)

log = get_logger(__name__)


class SqlUnitOfWork:
    """`session` carries the reads and ordinary writes; `writes` the batch
    statements of the hot path (see `clarion.adapters.db.engine`); `sessions`
    opens the short transactions of its own that idempotency keys need."""

    def __init__(
        self, session: AsyncSession, sessions: async_sessionmaker[AsyncSession], writes: Writes
    ) -> None:
        self.session = session
        self._writes = writes
        self.users: UserRepository = SqlUsers(session)
        self.refresh_tokens: RefreshTokenRepository = SqlRefreshTokens(session)
        self.api_keys: ApiKeyRepository = SqlApiKeys(session)
        self.audit: AuditTrail = SqlAuditTrail(session)
        self.notifications: NotificationRepository = SqlNotifications(session, writes)
        self.receipts: ReceiptRepository = SqlReceipts(session)
        self.contacts: ContactRepository = SqlContacts(session, writes)
        self.inbox: InboxRepository = SqlInbox(session)
        self.idempotency: IdempotencyStore = SqlIdempotencyStore(sessions, session, writes)
        self.templates: TemplateRepository = SqlTemplates(session)
        self.preferences: PreferenceRepository = SqlPreferences(session)
        self.suppressions: SuppressionRepository = SqlSuppressions(session)
        self.dashboard: DashboardReader = SqlDashboard(session, self.notifications)
        self.anonymisations: AnonymisationRepository = SqlAnonymisations(session)
        self._after_commit: list[Callable[[], Awaitable[None]]] = []

    def after_commit(self, callback: Callable[[], Awaitable[None]]) -> None:
        self._after_commit.append(callback)

    def hurry(self) -> None:
        self._writes.hurry()

    async def commit(self) -> None:
        await self._writes.flush()
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
        self._writes.discard()
        await self.session.rollback()

    async def close(self) -> None:
        self._writes.discard()
        await self.session.close()

    async def __aenter__(self) -> SqlUnitOfWork:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        """Commit when the block ends normally, roll back when it raises."""
        try:
            if error is None:
                await self.commit()
            else:
                await self.rollback()
        finally:
            await self.close()
