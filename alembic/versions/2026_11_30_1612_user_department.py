"""County department staff: app_user.department (县直部门), whose 服务直通车 problems and 服务专员 firms the user handles.

Revision ID: 1612
Revises: 1611
Create Date: 2026-11-30
"""
from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "1612"
down_revision: str | Sequence[str] | None = "1611"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("app_user", sa.Column("department", sa.String(length=60), nullable=True))


def downgrade() -> None:
    op.drop_column("app_user", "department")
