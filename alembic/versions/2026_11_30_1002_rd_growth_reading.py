"""The 2023 table's R&D growth row (研发投入月度增长率) is read year on year unless the county set a reading.

Revision ID: 1002
Revises: 1401
Create Date: 2026-11-30
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "1002"
down_revision: str | Sequence[str] | None = "1401"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    conn = op.get_bind()
    ind = sa.table("target_indicator", sa.column("id", sa.Integer), sa.column("set_id", sa.Integer),
                   sa.column("code", sa.String), sa.column("measure", sa.JSON))
    ts = sa.table("target_set", sa.column("id", sa.Integer), sa.column("key", sa.String), sa.column("source", sa.String))
    rows = conn.execute(
        sa.select(ind.c.id, ind.c.measure).select_from(ind.join(ts, ts.c.id == ind.c.set_id))
        .where(ind.c.code == "rd_growth_rate", ts.c.key == "2023", ts.c.source == "reference")
    ).all()
    for ind_id, measure in rows:
        if isinstance(measure, dict) and measure.get("kind") == "rd_growth" and "reading" not in measure:
            conn.execute(ind.update().where(ind.c.id == ind_id).values(measure={**measure, "reading": "year_on_year"}))


def downgrade() -> None:
    pass
