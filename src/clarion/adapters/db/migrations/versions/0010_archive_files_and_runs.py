"""archive_files and archive_runs: the archive files that hold rows moved out
of the live tables, and each archive pass

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "archive_files",
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("notification_rows", sa.Integer(), nullable=False),
        sa.Column("event_rows", sa.Integer(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("first_created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_event_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_event_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("path", name=op.f("pk_archive_files")),
    )
    op.create_index(
        "ix_archive_files_first_created_at", "archive_files", ["first_created_at"], unique=False
    )
    op.create_index(
        "ix_archive_files_first_event_at", "archive_files", ["first_event_at"], unique=False
    )
    op.create_table(
        "archive_runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "trigger",
            sa.Enum(
                "manual",
                "scheduled",
                name="trigger",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "outcome",
            sa.Enum(
                "running",
                "succeeded",
                "failed",
                "interrupted",
                name="outcome",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("older_than_days", sa.Integer(), nullable=False),
        sa.Column("cutoff", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("files", sa.Integer(), server_default="0", nullable=False),
        sa.Column("notification_rows", sa.Integer(), server_default="0", nullable=False),
        sa.Column("event_rows", sa.Integer(), server_default="0", nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("orphans_removed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_archive_runs")),
    )
    op.create_index(
        "ix_archive_runs_started_at",
        "archive_runs",
        [sa.literal_column("started_at DESC")],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_archive_runs_started_at", table_name="archive_runs")
    op.drop_table("archive_runs")
    op.drop_index("ix_archive_files_first_event_at", table_name="archive_files")
    op.drop_index("ix_archive_files_first_created_at", table_name="archive_files")
    op.drop_table("archive_files")
