"""drop the single-column user_id indexes of notifications and events: the
(user_id, status) and (user_id, type) indexes start with the same column and
serve every query they did, and each accepted notification wrote both

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, the index dropped, the index that still serves its queries)
COVERED = [
    ("notifications", "ix_notifications_user_id", "ix_notifications_user_id_status"),
    ("events", "ix_events_user_id", "ix_events_user_id_type"),
]


def upgrade() -> None:
    for table, index, _ in COVERED:
        op.drop_index(index, table_name=table)


def downgrade() -> None:
    for table, index, _ in COVERED:
        op.create_index(index, table, ["user_id"])
