"""The seed's data model as SQLAlchemy 2 tables.

Enums are stored as strings guarded by CHECK constraints, so the same migration
files run on SQLite and PostgreSQL and adding a value is one constraint change.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    Enum,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from clarion.adapters.db.types import JSONDocument, UTCDateTime, utcnow
from clarion.domain.archive import Outcome, Trigger
from clarion.domain.enums import (
    Channel,
    EventType,
    NotificationStatus,
    NotificationType,
    Platform,
    Priority,
    Receipt,
    Role,
)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def str_enum(enum: type[StrEnum], name: str) -> Enum:
    return Enum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSONDocument}  # noqa: RUF012


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"), default=Role.USER)
    phone: Mapped[str | None] = mapped_column(String(32))
    locale: Mapped[str | None] = mapped_column(String(35))  # BCP 47, for templates
    # access tokens issued before this are refused (a new password ends them all)
    sessions_valid_after: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Notification(Base):
    __tablename__ = "notifications"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "channel"))
    type: Mapped[NotificationType] = mapped_column(str_enum(NotificationType, "type"))
    priority: Mapped[Priority] = mapped_column(
        str_enum(Priority, "priority"), default=Priority.MEDIUM
    )
    status: Mapped[NotificationStatus] = mapped_column(
        str_enum(NotificationStatus, "status"), default=NotificationStatus.PENDING
    )
    payload: Mapped[dict[str, Any]]
    scheduled_for: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
    error_message: Mapped[str | None] = mapped_column(Text)
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSONDocument)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # delivery bookkeeping
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]
    provider: Mapped[str | None] = mapped_column(String(50))
    provider_message_id: Mapped[str | None] = mapped_column(String(200))
    priority_rank: Mapped[int] = mapped_column(default=2, server_default="2")
    # the furthest receipt from the provider (DELIVERED < OPENED < CLICKED)
    receipt: Mapped[Receipt | None] = mapped_column(str_enum(Receipt, "receipt"))
    read_at: Mapped[datetime | None]  # in-app: when the user read it

    __table_args__ = (
        # user_id alone is served by (user_id, status), foreign key included
        Index("ix_notifications_status", "status"),
        # status and channel too: the dashboard counts a day by them from the index alone
        Index(
            "ix_notifications_created_status_channel", text("created_at DESC"), "status", "channel"
        ),
        Index("ix_notifications_user_id_status", "user_id", "status"),
        # receipts find their notification by the provider's message id
        Index("ix_notifications_provider_message", "provider", "provider_message_id"),
        Index(
            "ix_notifications_scheduled",
            "status",
            "scheduled_for",
            postgresql_where=text("status = 'SCHEDULED'"),
            sqlite_where=text("status = 'SCHEDULED'"),
        ),
        Index(
            "ix_notifications_failed",
            "status",
            text("created_at DESC"),
            postgresql_where=text("status = 'FAILED'"),
            sqlite_where=text("status = 'FAILED'"),
        ),
        # the outbox: committed, due, not yet handed to the queue
        Index(
            "ix_notifications_unpublished",
            "priority_rank",
            "next_attempt_at",
            postgresql_where=text("status = 'PENDING' AND published_at IS NULL"),
            sqlite_where=text("status = 'PENDING' AND published_at IS NULL"),
        ),
        Index(
            "ix_notifications_inbox",
            "user_id",
            "read_at",
            text("created_at DESC"),
            postgresql_where=text("channel = 'IN_APP'"),
            sqlite_where=text("channel = 'IN_APP'"),
        ),
        Index(
            "ix_notifications_processing",
            "claimed_at",
            postgresql_where=text("status = 'PROCESSING'"),
            sqlite_where=text("status = 'PROCESSING'"),
        ),
    )


class Event(Base):
    __tablename__ = "events"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    notification_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("notifications.id", ondelete="CASCADE")
    )
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    type: Mapped[EventType] = mapped_column(str_enum(EventType, "type"))
    status: Mapped[NotificationStatus] = mapped_column(str_enum(NotificationStatus, "status"))
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "channel"))
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSONDocument)
    timestamp: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_events_notification_id", "notification_id"),
        # user_id alone is served by (user_id, type)
        Index("ix_events_timestamp_type", text("timestamp DESC"), "type"),
        Index("ix_events_user_id_type", "user_id", "type"),
    )


class AuditLog(Base):
    __tablename__ = "audit_logs"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    # The trail outlives the actor: deleting a user keeps their audit rows.
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(100))
    entity_type: Mapped[str | None] = mapped_column(String(50))
    entity_id: Mapped[str | None] = mapped_column(String(100))
    changes: Mapped[dict[str, Any] | None]
    ip_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    timestamp: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_audit_logs_user_id", "user_id"),
        Index("ix_audit_logs_action", "action"),
        Index("ix_audit_logs_timestamp", text("timestamp DESC")),
        Index("ix_audit_logs_entity_type_entity_id", "entity_type", "entity_id"),
    )


class Template(Base):
    __tablename__ = "templates"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "channel"))
    subject: Mapped[str | None] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    variables: Mapped[dict[str, Any] | None]
    version: Mapped[int] = mapped_column(default=1, server_default="1")  # the current one
    default_locale: Mapped[str] = mapped_column(String(35), default="en", server_default="en")
    deleted_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (Index("ix_templates_channel", "channel"),)


class UserPreferencesRow(Base):
    __tablename__ = "user_preferences"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    settings: Mapped[dict[str, Any]]  # see adapters/db/preferences.py
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class TemplateVersionRow(Base):
    """Every version a template ever had, never changed: a notification queued
    before an edit still renders the version it was accepted with."""

    __tablename__ = "template_versions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    template_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("templates.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[int]
    channel: Mapped[str] = mapped_column(String(32))
    default_locale: Mapped[str] = mapped_column(String(35))
    variables: Mapped[dict[str, Any]]  # a JSON Schema
    locales: Mapped[dict[str, Any]]  # locale → the channel's content fields
    description: Mapped[str | None] = mapped_column(String(1000))
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("name", "version"),)


class RefreshTokenRow(Base):
    __tablename__ = "refresh_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    family_id: Mapped[uuid.UUID]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_refresh_tokens_family_id", "family_id"),
        Index("ix_refresh_tokens_user_id", "user_id"),
    )


class ApiKeyRow(Base):
    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(128))
    scopes: Mapped[list[str]] = mapped_column(JSONDocument)
    rate_limit: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class SandboxMessage(Base):
    """What the sandbox provider would have sent. One row per notification: the
    sandbox honours the notification id as an idempotency key, as a provider
    with idempotency keys does, and counts the duplicates it suppressed."""

    __tablename__ = "sandbox_messages"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    notification_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "channel"))
    recipient: Mapped[str] = mapped_column(String(320))
    content: Mapped[dict[str, Any]]
    duplicates: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_sandbox_messages_created_at", text("created_at DESC")),)


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"

    scope: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int | None]
    response_body: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]

    __table_args__ = (Index("ix_idempotency_keys_expires_at", "expires_at"),)


class Device(Base):
    """A user's push registration."""

    __tablename__ = "devices"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    platform: Mapped[Platform] = mapped_column(str_enum(Platform, "platform"))
    token: Mapped[str] = mapped_column(String(4096), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_devices_user_id", "user_id"),)


class EmailSuppression(Base):
    """An address that bounced hard, was dropped or complained: email to it is NOT_SENT."""

    __tablename__ = "email_suppressions"

    address: Mapped[str] = mapped_column(String(320), primary_key=True)  # lower case
    reason: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SmsSuppression(Base):
    """A number that asked not to be texted (Twilio 21610): SMS to it fails at once."""

    __tablename__ = "sms_suppressions"

    phone: Mapped[str] = mapped_column(String(32), primary_key=True)
    reason: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProviderReceipt(Base):
    """Each provider event applied, so a replayed webhook changes nothing."""

    __tablename__ = "provider_receipts"

    provider: Mapped[str] = mapped_column(String(20), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    notification_id: Mapped[uuid.UUID | None]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class Anonymisation(Base):
    """A user whose personal data was replaced by pseudonyms: archives read
    their rows through this list, and its counts are the operators' stats."""

    __tablename__ = "anonymisations"

    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # no FK: outlives the account
    pseudonym: Mapped[str] = mapped_column(String(64))
    anonymised_at: Mapped[datetime] = mapped_column(default=utcnow)
    requested_by: Mapped[uuid.UUID | None]
    rows: Mapped[dict[str, Any]] = mapped_column(JSONDocument)  # rows changed, by table

    __table_args__ = (Index("ix_anonymisations_anonymised_at", "anonymised_at"),)


class ArchiveFileRow(Base):
    """An archive data file whose rows left the live tables. Written in the same
    transaction that deletes those rows: a file in the store without a row here
    is an orphan of a run that died, and holds nothing that was deleted."""

    __tablename__ = "archive_files"

    path: Mapped[str] = mapped_column(String(500), primary_key=True)
    day: Mapped[date] = mapped_column(Date)  # UTC day of the notifications' created_at
    run_id: Mapped[uuid.UUID]
    notification_rows: Mapped[int]
    event_rows: Mapped[int]
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    first_created_at: Mapped[datetime]
    last_created_at: Mapped[datetime]
    first_event_at: Mapped[datetime | None]
    last_event_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_archive_files_first_created_at", "first_created_at"),
        Index("ix_archive_files_first_event_at", "first_event_at"),
    )


class ArchiveRunRow(Base):
    """One archive pass, manual or scheduled, and how it ended."""

    __tablename__ = "archive_runs"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    trigger: Mapped[Trigger] = mapped_column(str_enum(Trigger, "trigger"))
    outcome: Mapped[Outcome] = mapped_column(str_enum(Outcome, "outcome"))
    older_than_days: Mapped[int]
    cutoff: Mapped[datetime]
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    files: Mapped[int] = mapped_column(default=0, server_default="0")
    notification_rows: Mapped[int] = mapped_column(default=0, server_default="0")
    event_rows: Mapped[int] = mapped_column(default=0, server_default="0")
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    orphans_removed: Mapped[int] = mapped_column(default=0, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_archive_runs_started_at", text("started_at DESC")),)
