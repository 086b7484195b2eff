"""preferences per user; email suppressions; NOT_SENT and DEFERRED

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
STATUSES = ("PENDING", "SCHEDULED", "PROCESSING", "SENT", "FAILED", "CANCELLED")
EVENTS = (
    "CREATED",
    "SCHEDULED",
    "SENT",
    "DELIVERED",
    "OPENED",
    "CLICKED",
    "FAILED",
    "RETRIED",
    "CANCELLED",
)
# SQLite rebuilds a table in batch mode and reflection drops DESC from these
DESC_INDEXES: dict[str, list[tuple[str, list[str], str | None]]] = {
    "notifications": [
        ("ix_notifications_created_at", ["created_at DESC"], None),
        ("ix_notifications_failed", ["status", "created_at DESC"], "status = 'FAILED'"),
        ("ix_notifications_inbox", ["user_id", "read_at", "created_at DESC"], "channel = 'IN_APP'"),
    ],
    "events": [("ix_events_timestamp", ["timestamp DESC"], None)],
}


def listed(values: Sequence[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def allow(statuses: Sequence[str], events: Sequence[str]) -> None:
    checks = {
        "notifications": [("status", statuses)],
        "events": [("status", statuses), ("type", events)],
    }
    for table, columns in checks.items():
        # batch mode: SQLite rebuilds the table, PostgreSQL alters it in place
        with op.batch_alter_table(table) as batch:
            for column, values in columns:
                batch.drop_constraint(op.f(f"ck_{table}_{column}"), type_="check")
                batch.create_check_constraint(column, sa.text(f"{column} IN ({listed(values)})"))
        if op.get_bind().dialect.name == "sqlite":
            for name, index_columns, where in DESC_INDEXES[table]:
                op.drop_index(name, table_name=table)
                op.create_index(
                    name,
                    table,
                    [sa.literal_column(c) if " " in c else c for c in index_columns],
                    sqlite_where=sa.text(where) if where else None,
                )


def upgrade() -> None:
    allow((*STATUSES, "NOT_SENT"), (*EVENTS, "NOT_SENT", "DEFERRED"))
    op.create_table(
        "user_preferences",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("settings", JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_preferences_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_preferences")),
    )
    op.create_table(
        "email_suppressions",
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("address", name=op.f("pk_email_suppressions")),
    )


def downgrade() -> None:
    op.drop_table("email_suppressions")
    op.drop_table("user_preferences")
    # what was not sent on purpose reads as cancelled in the older schema
    op.execute("UPDATE notifications SET status = 'CANCELLED' WHERE status = 'NOT_SENT'")
    op.execute("UPDATE events SET status = 'CANCELLED' WHERE status = 'NOT_SENT'")
    op.execute("UPDATE events SET type = 'CANCELLED' WHERE type = 'NOT_SENT'")
    op.execute("UPDATE events SET type = 'SCHEDULED' WHERE type = 'DEFERRED'")
    allow(STATUSES, EVENTS)
