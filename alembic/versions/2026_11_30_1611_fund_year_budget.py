"""Yearly funds: one envelope per calendar year (fund_year), budget adjustments on the ledger (kind adjustment,
signed), the envelope year on ledger entries. 冠政发〔2022〕9号 五（二）'s county fund becomes yearly: 500 万 for each
of 2022, 2023 and 2024, what is already drawn counted in the year of the award's event date (spending: its date).

Revision ID: 1611
Revises: h15t01
Create Date: 2026-11-30
"""
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa

from alembic import op

revision: str = "1611"
down_revision: str | Sequence[str] | None = "h15t01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

YEARLY_FUND = "gz2022-9.fund.county"
YEARLY_AMOUNT = 5_000_000


def upgrade() -> None:
    op.create_table(
        "fund_year",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fund_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("budget_yuan", sa.BigInteger(), nullable=False),
        sa.Column("drawn_yuan", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("budget_yuan >= 0", name=op.f("ck_fund_year_budget_nonneg")),
        sa.CheckConstraint("drawn_yuan >= 0 AND drawn_yuan <= budget_yuan", name=op.f("ck_fund_year_not_overdrawn")),
        sa.ForeignKeyConstraint(["fund_id"], ["fund.id"], name=op.f("fk_fund_year_fund_id_fund"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fund_year")),
        sa.UniqueConstraint("fund_id", "year", name="fund_year_once"),
    )
    op.create_index(op.f("ix_fund_year_fund_id"), "fund_year", ["fund_id"], unique=False)
    # a plain ADD COLUMN: on SQLite a batch copy of `fund` would cascade-delete its ledger entries
    op.add_column("fund", sa.Column("yearly", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("fund_entry") as batch:
        batch.add_column(sa.Column("year", sa.Integer(), nullable=True))
        batch.drop_constraint(op.f("ck_fund_entry_kind"), type_="check")
        batch.create_check_constraint(
            "kind", "kind IN ('allocation','top_up','draw','release','audit_fee','action_cost','adjustment')"
        )
        batch.drop_constraint(op.f("ck_fund_entry_amount_nonneg"), type_="check")
        batch.create_check_constraint("amount_nonneg", "amount_yuan >= 0 OR kind = 'adjustment'")
    _make_yearly()


def _make_yearly() -> None:
    """An existing 五（二） fund (one budget for 2022-04-09..2024-12-31) becomes yearly: the year of each draw is
    its award's event date, of each spending its date (after the period: the last year); the first year keeps the
    old budget (allocation and top-ups), each later year gets 500 万 by a recorded adjustment — or what it has
    already drawn, if that is more."""
    conn = op.get_bind()
    fund = conn.execute(
        sa.text("SELECT id, budget_yuan, period_start, period_end FROM fund WHERE code = :c"), {"c": YEARLY_FUND}
    ).first()
    if fund is None:
        return
    fid, budget, start, end = fund
    start_year, end_year = int(str(start)[:4]), int(str(end)[:4])
    conn.execute(sa.text(
        "UPDATE fund_entry SET year = (SELECT CAST(strftime('%Y', l.event_date) AS INTEGER) FROM award_line l"
        " WHERE l.id = fund_entry.award_line_id) WHERE fund_id = :f AND kind IN ('draw','release')"
        if conn.dialect.name == "sqlite" else
        "UPDATE fund_entry e SET year = EXTRACT(YEAR FROM l.event_date)::int FROM award_line l"
        " WHERE l.id = e.award_line_id AND e.fund_id = :f AND e.kind IN ('draw','release')"
    ), {"f": fid})
    entries = conn.execute(
        sa.text("SELECT id, kind, amount_yuan, entry_date, year FROM fund_entry WHERE fund_id = :f"), {"f": fid}
    ).all()
    drawn = {y: 0 for y in range(start_year, end_year + 1)}
    for eid, kind, amount, entry_date, year in entries:
        if kind in ("audit_fee", "action_cost"):
            year = min(int(str(entry_date)[:4]), end_year) if entry_date is not None else start_year
            conn.execute(sa.text("UPDATE fund_entry SET year = :y WHERE id = :i"), {"y": year, "i": eid})
        elif kind in ("allocation", "top_up"):
            conn.execute(sa.text("UPDATE fund_entry SET year = :y WHERE id = :i"), {"y": start_year, "i": eid})
            continue
        if year is None:
            continue
        year = min(max(year, start_year), end_year)
        drawn[year] += -amount if kind == "release" else amount
    total = 0
    for y in range(start_year, end_year + 1):
        year_budget = max(budget if y == start_year else YEARLY_AMOUNT, drawn[y])
        total += year_budget
        conn.execute(sa.text(
            "INSERT INTO fund_year (fund_id, year, budget_yuan, drawn_yuan, updated_at)"
            " VALUES (:f, :y, :b, :d, CURRENT_TIMESTAMP)"), {"f": fid, "y": y, "b": year_budget, "d": drawn[y]})
        added = year_budget - budget if y == start_year else year_budget
        if added:
            conn.execute(sa.text(
                "INSERT INTO fund_entry (fund_id, kind, amount_yuan, note, year, actor_name, created_at)"
                " VALUES (:f, 'adjustment', :a, :n, :y, 'system', :at)"),
                {"f": fid, "a": added, "y": y, "n": f"按“每年一个额度”设立 {y} 年额度（冠政发〔2022〕9号 五（二））",
                 "at": datetime(y, 1, 1, tzinfo=UTC)})  # the envelope stands from the start of its year
    conn.execute(sa.text("UPDATE fund SET yearly = :t, budget_yuan = :b WHERE id = :f"),
                 {"t": True, "b": total, "f": fid})


def downgrade() -> None:
    conn = op.get_bind()
    conn.execute(sa.text("DELETE FROM fund_entry WHERE kind = 'adjustment'"))
    with op.batch_alter_table("fund_entry") as batch:
        batch.drop_constraint(op.f("ck_fund_entry_amount_nonneg"), type_="check")
        batch.create_check_constraint("amount_nonneg", "amount_yuan >= 0")
        batch.drop_constraint(op.f("ck_fund_entry_kind"), type_="check")
        batch.create_check_constraint(
            "kind", "kind IN ('allocation','top_up','draw','release','audit_fee','action_cost')"
        )
        batch.drop_column("year")
    op.drop_column("fund", "yearly")
    op.drop_index(op.f("ix_fund_year_fund_id"), table_name="fund_year")
    op.drop_table("fund_year")
