"""pipeline: delivery bookkeeping, sandbox, idempotency

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", JSON, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_index(
        "ix_idempotency_keys_expires_at", "idempotency_keys", ["expires_at"], unique=False
    )
    op.create_table(
        "sandbox_messages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("notification_id", sa.Uuid(), nullable=False),
        sa.Column(
            "channel",
            sa.Enum(
                "EMAIL",
                "SMS",
                "PUSH",
                "IN_APP",
                name="channel",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("content", JSON, nullable=False),
        sa.Column("duplicates", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_messages")),
        sa.UniqueConstraint("notification_id", name=op.f("uq_sandbox_messages_notification_id")),
    )
    op.create_index(
        "ix_sandbox_messages_created_at",
        "sandbox_messages",
        [sa.literal_column("created_at DESC")],
        unique=False,
    )
    op.add_column(
        "notifications", sa.Column("attempts", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column(
        "notifications", sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "notifications", sa.Column("published_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "notifications", sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("notifications", sa.Column("provider", sa.String(length=50), nullable=True))
    op.add_column(
        "notifications", sa.Column("provider_message_id", sa.String(length=200), nullable=True)
    )
    op.add_column(
        "notifications",
        sa.Column("priority_rank", sa.Integer(), server_default="2", nullable=False),
    )
    op.execute(
        "UPDATE notifications SET priority_rank = CASE priority "
        "WHEN 'URGENT' THEN 0 WHEN 'HIGH' THEN 1 WHEN 'MEDIUM' THEN 2 ELSE 3 END"
    )
    op.create_index(
        "ix_notifications_processing",
        "notifications",
        ["claimed_at"],
        unique=False,
        postgresql_where=sa.text("status = 'PROCESSING'"),
        sqlite_where=sa.text("status = 'PROCESSING'"),
    )
    op.create_index(
        "ix_notifications_unpublished",
        "notifications",
        ["priority_rank", "next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("status = 'PENDING' AND published_at IS NULL"),
        sqlite_where=sa.text("status = 'PENDING' AND published_at IS NULL"),
    )


def downgrade() -> None:

    op.drop_index(
        "ix_notifications_unpublished",
        table_name="notifications",
        postgresql_where=sa.text("status = 'PENDING' AND published_at IS NULL"),
        sqlite_where=sa.text("status = 'PENDING' AND published_at IS NULL"),
    )
    op.drop_index(
        "ix_notifications_processing",
        table_name="notifications",
        postgresql_where=sa.text("status = 'PROCESSING'"),
        sqlite_where=sa.text("status = 'PROCESSING'"),
    )
    op.drop_column("notifications", "priority_rank")
    op.drop_column("notifications", "provider_message_id")
    op.drop_column("notifications", "provider")
    op.drop_column("notifications", "claimed_at")
    op.drop_column("notifications", "published_at")
    op.drop_column("notifications", "next_attempt_at")
    op.drop_column("notifications", "attempts")
    op.drop_index("ix_sandbox_messages_created_at", table_name="sandbox_messages")
    op.drop_table("sandbox_messages")
    op.drop_index("ix_idempotency_keys_expires_at", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
