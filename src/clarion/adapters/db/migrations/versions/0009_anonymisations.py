"""anonymisations: the users whose personal data was replaced, and what changed

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "anonymisations",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("pseudonym", sa.String(length=64), nullable=False),
        sa.Column("anonymised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_by", sa.Uuid(), nullable=True),
        sa.Column("rows", JSON, nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_anonymisations")),
    )
    op.create_index(
        "ix_anonymisations_anonymised_at", "anonymisations", ["anonymised_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_anonymisations_anonymised_at", table_name="anonymisations")
    op.drop_table("anonymisations")
