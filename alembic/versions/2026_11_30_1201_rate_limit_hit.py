"""Rate-limit counters in the database, shared by every worker process and server

Revision ID: 1201
Revises: 0901
Create Date: 2026-11-30 14:25:00
"""
from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = '1201'
down_revision: str | Sequence[str] | None = '0901'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('rate_limit_hit',
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('window_start', sa.BigInteger(), nullable=False),
    sa.Column('hits', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key', 'window_start', name=op.f('pk_rate_limit_hit'))
    )


def downgrade() -> None:
    op.drop_table('rate_limit_hit')
