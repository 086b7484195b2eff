"""indexes the admin dashboard reads alone: notifications by creation time with
status and channel, events by time with type

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, old index, its columns, new index, its columns): each new one serves
# every query the old one did, since it starts with the same column
SWAPS = [
    (
        "notifications",
        "ix_notifications_created_at",
        ["created_at DESC"],
        "ix_notifications_created_status_channel",
        ["created_at DESC", "status", "channel"],
    ),
    (
        "events",
        "ix_events_timestamp",
        ["timestamp DESC"],
        "ix_events_timestamp_type",
        ["timestamp DESC", "type"],
    ),
]


def columns(names: list[str]) -> list[sa.ColumnElement[object] | str]:
    return [sa.literal_column(n) if " " in n else n for n in names]


def upgrade() -> None:
    for table, old, _, new, new_columns in SWAPS:
        op.create_index(new, table, columns(new_columns))
        op.drop_index(old, table_name=table)


def downgrade() -> None:
    for table, old, old_columns, new, _ in SWAPS:
        op.create_index(old, table, columns(old_columns))
        op.drop_index(new, table_name=table)
