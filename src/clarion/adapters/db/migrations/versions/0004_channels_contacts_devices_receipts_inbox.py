"""channels: contacts, devices, SMS suppressions, receipts, inbox, WEBHOOK

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_CHANNELS = ("EMAIL", "SMS", "PUSH", "IN_APP")
NEW_CHANNELS = (*OLD_CHANNELS, "WEBHOOK")
CHANNEL_TABLES = ("notifications", "events", "templates", "sandbox_messages")


RECEIPT = sa.Enum(
    "DELIVERED",
    "OPENED",
    "CLICKED",
    name="receipt",
    native_enum=False,
    create_constraint=True,
    length=32,
)
# SQLite rebuilds a table in batch mode and reflection drops DESC from these
DESC_INDEXES: dict[str, list[tuple[str, list[str], str | None]]] = {
    "notifications": [
        ("ix_notifications_created_at", ["created_at DESC"], None),
        ("ix_notifications_failed", ["status", "created_at DESC"], "status = 'FAILED'"),
    ],
    "events": [("ix_events_timestamp", ["timestamp DESC"], None)],
    "templates": [],
    "sandbox_messages": [("ix_sandbox_messages_created_at", ["created_at DESC"], None)],
}


def allow_channels(channels: tuple[str, ...], *, upgrading: bool) -> None:
    listed = ", ".join(f"'{c}'" for c in channels)
    for table in CHANNEL_TABLES:
        # batch mode: SQLite rebuilds the table, PostgreSQL alters it in place
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(f"ck_{table}_channel"), type_="check")
            batch.create_check_constraint("channel", sa.text(f"channel IN ({listed})"))
            if table == "notifications" and upgrading:
                batch.add_column(sa.Column("receipt", RECEIPT, nullable=True))
                batch.add_column(sa.Column("read_at", sa.DateTime(timezone=True), nullable=True))
            if table == "notifications" and not upgrading:
                batch.drop_constraint(op.f("ck_notifications_receipt"), type_="check")
                batch.drop_column("read_at")
                batch.drop_column("receipt")
        if op.get_bind().dialect.name == "sqlite":
            for name, columns, where in DESC_INDEXES[table]:
                op.drop_index(name, table_name=table)
                op.create_index(
                    name,
                    table,
                    [sa.literal_column(c) if " " in c else c for c in columns],
                    sqlite_where=sa.text(where) if where else None,
                )


def upgrade() -> None:
    allow_channels(NEW_CHANNELS, upgrading=True)
    op.add_column("users", sa.Column("phone", sa.String(length=32), nullable=True))
    op.create_index(
        "ix_notifications_inbox",
        "notifications",
        ["user_id", "read_at", sa.literal_column("created_at DESC")],
        unique=False,
        postgresql_where=sa.text("channel = 'IN_APP'"),
        sqlite_where=sa.text("channel = 'IN_APP'"),
    )
    op.create_index(
        "ix_notifications_provider_message",
        "notifications",
        ["provider", "provider_message_id"],
        unique=False,
    )
    op.create_table(
        "devices",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column(
            "platform",
            sa.Enum(
                "ANDROID",
                "IOS",
                "WEB",
                name="platform",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("token", sa.String(length=4096), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_devices_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
        sa.UniqueConstraint("token", name=op.f("uq_devices_token")),
    )
    op.create_index("ix_devices_user_id", "devices", ["user_id"], unique=False)
    op.create_table(
        "sms_suppressions",
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("phone", name=op.f("pk_sms_suppressions")),
    )
    op.create_table(
        "provider_receipts",
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("notification_id", sa.Uuid(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("provider", "event_id", name=op.f("pk_provider_receipts")),
    )


def downgrade() -> None:
    op.drop_table("provider_receipts")
    op.drop_table("sms_suppressions")
    op.drop_index("ix_devices_user_id", table_name="devices")
    op.drop_table("devices")
    op.drop_index("ix_notifications_provider_message", table_name="notifications")
    op.drop_index(
        "ix_notifications_inbox",
        table_name="notifications",
        postgresql_where=sa.text("channel = 'IN_APP'"),
        sqlite_where=sa.text("channel = 'IN_APP'"),
    )
    with op.batch_alter_table("users") as batch:
        batch.drop_column("phone")
    op.execute("DELETE FROM events WHERE channel = 'WEBHOOK'")
    op.execute("DELETE FROM notifications WHERE channel = 'WEBHOOK'")
    op.execute("DELETE FROM sandbox_messages WHERE channel = 'WEBHOOK'")
    op.execute("DELETE FROM templates WHERE channel = 'WEBHOOK'")
    allow_channels(OLD_CHANNELS, upgrading=False)
