"""Monthly filings carry their plausibility checks and who confirmed them.

Revision ID: 0901
Revises: 1102
Create Date: 2026-11-30
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0901"
down_revision: str | Sequence[str] | None = "1102"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("monthly_filing", schema=None) as batch_op:
        batch_op.add_column(sa.Column("checks", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("checks_confirmed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("checks_confirmed_by", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("checks_note", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("monthly_filing", schema=None) as batch_op:
        batch_op.drop_column("checks_note")
        batch_op.drop_column("checks_confirmed_by")
        batch_op.drop_column("checks_confirmed_at")
        batch_op.drop_column("checks")
