"""The ports the services need. Adapters implement them; each has an embedded
adapter and a scaled-out one that pass the same contract tests."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Protocol

from clarion.domain.anonymise import AnonymisationStats, Anonymised
from clarion.domain.audit import AuditPage, AuditQuery, AuditStats
from clarion.domain.contacts import DeviceRecord, Suppression
from clarion.domain.dashboard import DashboardFigures, Waiting
from clarion.domain.delivery import OutgoingMessage, QueueMessage, SendResult
from clarion.domain.enums import Priority, Role
from clarion.domain.identity import ApiKey, AuditEntry, RefreshToken, UserAccount
from clarion.domain.notifications import LANES, EventRecord, NewNotification, NotificationRecord
from clarion.domain.pipeline import Claimed, DeliveryOutcome, NotificationQuery, Page
from clarion.domain.preferences import Preferences
from clarion.domain.ratelimit import RateDecision
from clarion.domain.receipts import ProviderEvent, ReceiptOutcome
from clarion.domain.templates import TemplateVersion


class Component(Protocol):
    """Something readiness asks about: the database, the queue, the cache.

    `kind` names the adapter (`sqlite`, `postgresql`, `embedded`, `memory`,
    `redis`); `ping` returns when the component answers and raises otherwise.
    """

    name: str
    kind: str

    async def ping(self) -> None: ...


class Cache(Component, Protocol):
    """A byte-string cache with time-to-live and tags.

    Tags group keys so that one change can drop every cached view it affects
    (for example every cached page of one user's notifications).

    Readers `fill` after a miss; writers `delete` (or `invalidate_tag`) after a
    change. A deleted key holds a short-lived tombstone that `fill` does not
    overwrite, so a reader that loaded the old row before the change cannot
    put it back after the change: no process serves it stale.
    """

    async def get(self, key: str) -> bytes | None: ...

    async def set(
        self, key: str, value: bytes, ttl_seconds: float, tags: tuple[str, ...] = ()
    ) -> None: ...

    async def fill(
        self, key: str, value: bytes, ttl_seconds: float, tags: tuple[str, ...] = ()
    ) -> bool:
        """Store only if the key holds nothing, not even a tombstone."""

    async def delete(self, *keys: str) -> None:
        """Drop each key (leaving its tombstone), in one round trip where the store allows."""

    async def invalidate_tag(self, *tags: str) -> None:
        """Drop every key of each tag, in one round trip per step where the store allows."""

    async def close(self) -> None: ...


class UserRepository(Protocol):
    """Accounts. `search` matches email or name, case-insensitively."""

    async def add(self, user: UserAccount) -> None: ...

    async def get(self, user_id: uuid.UUID) -> UserAccount | None: ...

    async def get_by_email(self, email: str) -> UserAccount | None: ...

    async def page(
        self, *, search: str | None, offset: int, limit: int
    ) -> tuple[Sequence[UserAccount], int]: ...

    async def save(self, user: UserAccount) -> None: ...

    async def delete(self, user_id: uuid.UUID) -> None: ...

    async def count_admins(self) -> int: ...

    async def demote_admin(self, user_id: uuid.UUID, role: Role, now: datetime) -> bool:
        """Change an admin's role only while another admin remains (False if not),
        also when two admins retire each other at the same moment."""

    async def delete_admin(self, user_id: uuid.UUID) -> bool:
        """Delete an admin only while another admin remains (False if not)."""

    async def existing(self, user_ids: set[uuid.UUID]) -> set[uuid.UUID]: ...


class RefreshTokenRepository(Protocol):
    """Refresh tokens by `jti`. `spend` is a conditional update: it succeeds for
    exactly one caller, so two concurrent refreshes cannot both rotate a token."""

    async def add(self, token: RefreshToken) -> None: ...

    async def get(self, jti: str) -> RefreshToken | None: ...

    async def spend(self, jti: str, at: datetime) -> bool: ...

    async def revoke_family(self, family_id: uuid.UUID, at: datetime) -> None: ...

    async def revoke_user(self, user_id: uuid.UUID, at: datetime) -> None: ...


class ApiKeyRepository(Protocol):
    async def add(self, key: ApiKey) -> None: ...

    async def get(self, key_id: uuid.UUID) -> ApiKey | None: ...

    async def get_by_prefix(self, prefix: str) -> ApiKey | None: ...

    async def list(self) -> Sequence[ApiKey]: ...

    async def save(self, key: ApiKey) -> None: ...


class AuditTrail(Protocol):
    async def record(self, entry: AuditEntry) -> None: ...

    async def page(self, query: AuditQuery) -> AuditPage:
        """Newest first, by (timestamp, id)."""

    async def stats(self, since: datetime, until: datetime, *, top: int) -> AuditStats:
        """Entries in [since, until): the total, and the `top` actions and actors."""


class NotificationRepository(Protocol):
    """Notifications and their events. Every status change is a conditional
    update guarded by the statuses it may come from, so a redelivered message,
    a second scheduler or a late cancel can never move a row twice."""

    async def add_many(
        self, items: Sequence[NewNotification], now: datetime, *, published: bool = False
    ) -> None:
        """`published`: the rows count as handed to the queue already (a queue
        that cannot lose an accepted message short of the process dying)."""

    async def get(self, notification_id: uuid.UUID) -> NotificationRecord | None: ...

    async def page(self, query: NotificationQuery) -> Page: ...

    async def events(self, notification_id: uuid.UUID) -> list[EventRecord]: ...

    async def events_for(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[EventRecord]]: ...

    async def edit(
        self, notification_id: uuid.UUID, values: dict[str, Any], now: datetime
    ) -> bool: ...

    async def cancel(self, notification_id: uuid.UUID, now: datetime) -> bool: ...

    async def take_unpublished(
        self, now: datetime, *, grace: timedelta, limit: int
    ) -> list[QueueMessage]: ...

    async def mark_published(self, ids: Sequence[uuid.UUID], at: datetime) -> None: ...

    async def confirm_retries(self, messages: Sequence[QueueMessage], at: datetime) -> None:
        """Record that the queue holds these retries, for rows still waiting
        for exactly that attempt."""

    async def promote_scheduled(self, now: datetime, *, limit: int) -> int: ...

    async def recover(
        self,
        now: datetime,
        *,
        claim_lease: timedelta,
        redelivery: timedelta,
        lanes: Collection[Priority] = LANES,
    ) -> tuple[int, int]:
        """Reclaim expired claims, and publish again the rows of `lanes` that
        were published longer than `redelivery` ago and never claimed."""

    async def claim(self, ids: Sequence[uuid.UUID], now: datetime) -> list[Claimed]: ...

    async def record_outcomes(
        self, outcomes: Sequence[DeliveryOutcome], now: datetime, *, claimed_at: datetime
    ) -> list[uuid.UUID]: ...

    async def dead_letters(self, *, limit: int, offset: int) -> list[NotificationRecord]: ...

    async def backlog(self) -> dict[str, dict[str, int]]:
        """Per priority lane: rows handed to the queue and not yet claimed
        (`queued`), rows waiting for their time or a publish (`waiting`), and
        rows a worker holds (`processing`). Independent of the broker."""

    async def redrive(self, notification_id: uuid.UUID, now: datetime, actor: str) -> bool: ...


class IdempotencyStore(Protocol):
    """Stored first responses per (caller, key), Stripe style.

    `reserve` returns None when the key is new (and now held), else the stored
    record: its request hash and, once finished, the response to replay."""

    async def reserve(
        self, scope: str, key: str, request_hash: str, now: datetime, ttl: timedelta
    ) -> StoredResponse | None: ...

    async def finish(
        self,
        scope: str,
        key: str,
        status: int,
        body: dict[str, Any] | list[Any],
        *,
        reserved_at: datetime,
    ) -> bool:
        """Store the response; False if this request no longer holds the key
        (its reservation lapsed and another request took it over)."""

    async def release(self, scope: str, key: str, *, reserved_at: datetime) -> None: ...

    async def purge_expired(self, now: datetime) -> int: ...


class AnonymisationRepository(Protocol):
    """Users whose personal data was replaced by pseudonyms (see
    `clarion.domain.anonymise`), and the replacing itself."""

    async def get(self, user_id: uuid.UUID) -> Anonymised | None: ...

    async def anonymise(
        self, user: UserAccount, pseudonym: str, requested_by: uuid.UUID | None, now: datetime
    ) -> Anonymised: ...

    async def revoked_prefixes(self, user_id: uuid.UUID) -> list[str]: ...

    async def notification_ids(self, user_id: uuid.UUID) -> list[uuid.UUID]: ...

    async def stats(self, since: datetime) -> AnonymisationStats: ...


class DashboardReader(Protocol):
    async def figures(self, now: datetime) -> DashboardFigures: ...

    async def waiting(self) -> Waiting: ...


class WriteConflict(Exception):
    """A concurrent transaction won a lock race (PostgreSQL picked this one as a
    deadlock's victim): nothing of the unit of work was committed, and it may be
    tried again as a whole."""


class UnitOfWork(Protocol):
    """The repositories of one transaction. Services never commit: the edge
    (a request or a worker batch) commits when the use case returns."""

    users: UserRepository
    refresh_tokens: RefreshTokenRepository
    api_keys: ApiKeyRepository
    audit: AuditTrail
    notifications: NotificationRepository
    receipts: ReceiptRepository
    contacts: ContactRepository
    inbox: InboxRepository
    idempotency: IdempotencyStore
    templates: TemplateRepository
    preferences: PreferenceRepository
    suppressions: SuppressionRepository
    dashboard: DashboardReader
    anonymisations: AnonymisationRepository

    def after_commit(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Run `callback` once this transaction has committed (never if it rolls
        back): how a use case publishes only what is durably stored."""

    def hurry(self) -> None:
        """This transaction carries URGENT work: where writes wait in line (the
        embedded database's one writer), its writes go first."""

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...

    async def close(self) -> None: ...

    async def __aenter__(self) -> UnitOfWork: ...

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Commit when the block ends normally, roll back when it raises; close."""


class RateLimiter(Component, Protocol):
    """Counts hits per key against tiers such as `3/second;20/10 seconds;100/minute`.

    A hit of `cost` units (one request, or the notifications of a batch) is
    admitted only if every tier admits all of it; a refused hit spends nothing
    it can avoid. The embedded adapter counts in memory; the scaled-out one in
    Redis, so every API process shares a budget.
    """

    async def hit(self, key: str, tiers: str, cost: int = 1) -> RateDecision: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class StoredResponse:
    request_hash: str
    status: int | None  # None while the first request is still in flight
    body: dict[str, Any] | list[Any] | None


class Queue(Component, Protocol):
    """Transport from the API and the outbox to the workers, shaped like Kafka.

    `publish` returns once the messages are accepted. `consume` hands out up to
    `max_messages`, highest-priority lane first, waiting at most `wait_seconds`.
    `ack` is called after the outcomes are stored; a message handed out and
    never acknowledged (its worker died) is delivered again. The database stays
    the source of truth: a message is only ever a pointer to a row.
    """

    async def publish(self, messages: Sequence[QueueMessage]) -> None: ...

    async def consume(
        self,
        max_messages: int,
        wait_seconds: float,
        lanes: Sequence[Priority] = LANES,
    ) -> Sequence[QueueMessage]:
        """Only from `lanes` (a consumer kept for urgent work takes only those)."""

    async def ack(self, messages: Sequence[QueueMessage]) -> None: ...

    async def stats(self) -> dict[str, Any]:
        """What the transport itself reports: lanes, partitions, offsets, lag."""

    async def publish_dead_letters(self, messages: Sequence[QueueMessage]) -> None:
        """Announce notifications that failed for good (the database keeps them
        for the admin endpoints either way)."""

    async def publish_retries(self, messages: Sequence[QueueMessage]) -> None:
        """Accept retries: each reaches its lane no sooner than its `due_at`,
        once some process runs `relay_retries`."""

    async def relay_retries(self, stop: asyncio.Event) -> None:
        """Move retries to their lanes as they fall due, until `stop` is set.
        Sleeps between due times; a retry due later never holds up one due sooner."""

    async def behind(self, before: datetime) -> set[Priority]:
        """The lanes whose consumers may not yet have handled every message
        published before `before`: a row published then and still unclaimed
        may be waiting there, not lost. When the queue cannot tell, every lane."""

    async def close(self) -> None: ...


class ContactRepository(Protocol):
    async def add_device(self, device: DeviceRecord) -> DeviceRecord: ...

    async def devices(self, user_id: uuid.UUID) -> list[DeviceRecord]: ...

    async def tokens_for(
        self, user_ids: Iterable[uuid.UUID]
    ) -> dict[uuid.UUID, tuple[str, ...]]: ...

    async def remove_device(self, user_id: uuid.UUID, device_id: uuid.UUID) -> bool: ...

    async def forget_tokens(self, tokens: Sequence[str]) -> None:
        """Remove push tokens the provider says are gone for good."""

    async def suppress(self, numbers: Sequence[str], reason: str, now: datetime) -> None:
        """Stop texting these numbers (they replied STOP)."""

    async def suppressed(self, numbers: Iterable[str]) -> set[str]: ...


class SuppressionRepository(Protocol):
    async def suppress_emails(self, found: Sequence[tuple[str, str]], now: datetime) -> None:
        """(address, reason) pairs; an address already suppressed keeps its reason."""

    async def of_emails(self, addresses: Iterable[str]) -> dict[str, str]:
        """The suppressed ones among these addresses, with why, in one read."""

    async def page(self, channel: str, *, offset: int, limit: int) -> list[Suppression]: ...

    async def lift(self, channel: str, address: str) -> bool: ...


class PreferenceRepository(Protocol):
    async def get(self, user_id: uuid.UUID) -> Preferences: ...

    async def of_users(self, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Preferences]:
        """The preferences of those who set any, in one read."""

    async def save(self, user_id: uuid.UUID, preferences: Preferences, now: datetime) -> None: ...


class TemplateRepository(Protocol):
    async def current(self, name: str) -> TemplateVersion | None:
        """The newest version of a template that was not deleted."""

    async def versions(self, keys: Iterable[tuple[str, int]]) -> list[TemplateVersion]:
        """These (name, version)s, in one read; deleted templates' too."""

    async def history(self, name: str) -> list[TemplateVersion]: ...

    async def listing(self, *, offset: int, limit: int) -> list[TemplateVersion]: ...

    async def save(self, version: TemplateVersion, now: datetime, *, new: bool) -> TemplateVersion:
        """Store the template's next version, numbered here. `new`: the name must
        be free (else Conflict); otherwise the template must exist (else NotFound)."""

    async def delete(self, name: str, now: datetime) -> bool: ...


class InboxRepository(Protocol):
    async def page(
        self, user_id: uuid.UUID, *, offset: int, limit: int, unread_only: bool = False
    ) -> list[NotificationRecord]: ...

    async def unread(self, user_id: uuid.UUID) -> int: ...

    async def mark_read(
        self, user_id: uuid.UUID, notification_id: uuid.UUID | None, now: datetime
    ) -> list[uuid.UUID]: ...

    async def holds(self, user_id: uuid.UUID, notification_id: uuid.UUID) -> bool: ...


class ReceiptRepository(Protocol):
    async def apply(self, event: ProviderEvent, now: datetime) -> ReceiptOutcome:
        """Apply a provider's receipt once (dedupe on its event id), forward only,
        and record it as an Event."""


class Provider(Protocol):
    """Sends one message on one channel and says what happened: sent, retry
    later (with the provider's minimum wait), or failed for good."""

    name: str

    async def send(self, message: OutgoingMessage) -> SendResult: ...


class SandboxOutbox(Protocol):
    """The sandbox provider's record of what it would have sent."""

    async def record(self, message: OutgoingMessage) -> str: ...

    async def recent(self, limit: int) -> list[dict[str, Any]]: ...


class Fanout(Component, Protocol):
    """Publish/subscribe across every API process: how a live in-app message
    reaches the process holding the user's stream. In-process when embedded,
    Redis pub/sub when scaled out. Delivery is best effort: a subscriber that
    is not listening misses the message (the inbox in the database has it)."""

    async def publish(self, channel: str, payload: bytes) -> None: ...

    async def publish_many(self, messages: Sequence[tuple[str, bytes]]) -> None:
        """(channel, payload) pairs, in one round trip where the transport allows."""

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[AsyncIterator[bytes]]:
        """`async with fanout.subscribe(channel) as messages`: once inside, every
        message published to `channel` arrives on `messages` until the block ends."""

    async def close(self) -> None: ...
