"""target tables as drafts: target_set.status (draft → published), who published it and when, the table it was copied from

Every existing table is published. A draft (copied from last year's table, then edited) is
never shown on the dashboard by default; publishing makes it the year's table.

Revision ID: h15t01
Revises: 1201
Create Date: 2026-11-30
"""
from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "h15t01"
down_revision: str | Sequence[str] | None = "1201"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # plain ADD COLUMN: on SQLite a batch rebuild of target_set would drop the old table, and with
    # foreign keys on that deletes every indicator (ON DELETE CASCADE); the status check is added
    # where ALTER TABLE can add it in place
    op.add_column("target_set", sa.Column("status", sa.String(length=10), nullable=False, server_default="published"))
    op.add_column("target_set", sa.Column("published_by", sa.String(length=100), nullable=True))
    op.add_column("target_set", sa.Column("published_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("target_set", sa.Column("copied_from", sa.String(length=20), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.create_check_constraint("status", "target_set", "status IN ('draft','published')")


def downgrade() -> None:
    op.execute("DELETE FROM target_set WHERE status = 'draft'")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(op.f("ck_target_set_status"), "target_set", type_="check")
    for name in ("copied_from", "published_at", "published_by", "status"):
        op.drop_column("target_set", name)
