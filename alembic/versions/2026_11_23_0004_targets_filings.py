"""targets and monthly filings: target tables with township figures, the 2023 table and 2022–2024 goals; 月度填报

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-23 11:00:00
"""
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa
import yaml

from alembic import op

REFERENCE = Path(__file__).resolve().parents[2] / "app" / "reference"

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    target_set = op.create_table(
        "target_set",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("document", sa.String(length=60), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("issued_date", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('annual','period')", name=op.f("ck_target_set_kind")),
        sa.CheckConstraint("source IN ('reference','form','upload','api')", name=op.f("ck_target_set_source")),
        sa.CheckConstraint("period_end >= period_start", name=op.f("ck_target_set_period_ordered")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_target_set")),
        sa.UniqueConstraint("key", name=op.f("uq_target_set_key")),
    )
    indicator = op.create_table(
        "target_indicator",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("set_id", sa.Integer(), nullable=False),
        sa.Column("no", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("clause", sa.String(length=40), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("unit", sa.String(length=10), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("county_only", sa.Boolean(), nullable=False),
        sa.Column("at_least", sa.Boolean(), nullable=False),
        sa.Column("approx", sa.Boolean(), nullable=False),
        sa.Column("total", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("deadline_text", sa.String(length=60), nullable=False),
        sa.Column("filing_day", sa.Integer(), nullable=True),
        sa.Column("measure", sa.JSON(), nullable=False),
        sa.Column("parts", sa.JSON(), nullable=True),
        sa.Column("responsible", sa.JSON(), nullable=True),
        sa.CheckConstraint("kind IN ('count','rate')", name=op.f("ck_target_indicator_kind")),
        sa.CheckConstraint("total >= 0", name=op.f("ck_target_indicator_total_nonneg")),
        sa.ForeignKeyConstraint(
            ["set_id"], ["target_set.id"], name=op.f("fk_target_indicator_set_id_target_set"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_target_indicator")),
        sa.UniqueConstraint("set_id", "code", name="uq_target_indicator_set_code"),
    )
    with op.batch_alter_table("target_indicator", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_target_indicator_set_id"), ["set_id"], unique=False)

    figure = op.create_table(
        "target_figure",
        sa.Column("indicator_id", sa.Integer(), nullable=False),
        sa.Column("township", sa.String(length=20), nullable=False),
        sa.Column("value", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.CheckConstraint("value >= 0", name=op.f("ck_target_figure_value_nonneg")),
        sa.ForeignKeyConstraint(
            ["indicator_id"], ["target_indicator.id"],
            name=op.f("fk_target_figure_indicator_id_target_indicator"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["township"], ["township.code"], name=op.f("fk_target_figure_township_township")),
        sa.PrimaryKeyConstraint("indicator_id", "township", name=op.f("pk_target_figure")),
    )

    op.create_table(
        "monthly_filing",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("period", sa.Integer(), nullable=False),
        sa.Column("rd_spend_yuan", sa.BigInteger(), nullable=False),
        sa.Column("output_value_yuan", sa.BigInteger(), nullable=False),
        sa.Column("revenue_yuan", sa.BigInteger(), nullable=True),
        sa.Column("electricity_kwh", sa.BigInteger(), nullable=True),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("filed_by", sa.String(length=100), nullable=False),
        sa.Column("filed_late", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("corrected_late", sa.Boolean(), nullable=False),
        sa.Column("revisions", sa.Integer(), nullable=False),
        sa.CheckConstraint("electricity_kwh IS NULL OR electricity_kwh >= 0", name=op.f("ck_monthly_filing_electricity_nonneg")),
        sa.CheckConstraint("month BETWEEN 1 AND 12", name=op.f("ck_monthly_filing_month")),
        sa.CheckConstraint("output_value_yuan >= 0", name=op.f("ck_monthly_filing_output_value_nonneg")),
        sa.CheckConstraint("period = year * 12 + month - 1", name=op.f("ck_monthly_filing_period")),
        sa.CheckConstraint("rd_spend_yuan >= 0", name=op.f("ck_monthly_filing_rd_spend_nonneg")),
        sa.CheckConstraint("revenue_yuan IS NULL OR revenue_yuan >= 0", name=op.f("ck_monthly_filing_revenue_nonneg")),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["enterprise.id"], name=op.f("fk_monthly_filing_enterprise_id_enterprise"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monthly_filing")),
        sa.UniqueConstraint("enterprise_id", "period", name="uq_monthly_filing_enterprise_period"),
    )
    with op.batch_alter_table("monthly_filing", schema=None) as batch_op:
        batch_op.create_index("ix_monthly_filing_period_enterprise", ["period", "enterprise_id"], unique=False)

    _load_reference(target_set, indicator, figure)


def _load_reference(target_set, indicator, figure) -> None:
    """The 2023 table (冠政办发〔2023〕7号 附件) and the 2022–2024 goals (冠政发〔2022〕9号 二) from app/reference/."""
    bind = op.get_bind()
    now = datetime.now(UTC)
    table = yaml.safe_load((REFERENCE / "targets_2023.yaml").read_text(encoding="utf-8"))
    goals = yaml.safe_load((REFERENCE / "goals_2022_2024.yaml").read_text(encoding="utf-8"))
    year = table["year"]
    sets = [
        (
            {"key": str(year), "kind": "annual", "year": year, "period_start": date(year, 1, 1),
             "period_end": date(year, 12, 31), "document": table["document"], "title": table["title"],
             "issued_date": table["issued"], "note": None},
            [
                {"no": r["no"], "code": r["code"], "name": r["name"], "clause": r.get("clause"), "text": r.get("text"),
                 "unit": r["unit"], "kind": r.get("kind", "count"), "county_only": r.get("county_only", False),
                 "at_least": r.get("at_least", False), "approx": r.get("approx", False), "total": r["total"],
                 "deadline": r.get("deadline"), "deadline_text": r["deadline_text"], "filing_day": r.get("filing_day"),
                 "measure": r["measure"], "parts": r.get("parts"), "responsible": r.get("responsible"),
                 "_townships": r.get("townships") or {}}
                for r in table["indicators"]
            ],
        ),
        (
            {"key": f"{goals['period']['start'].year}-{goals['period']['end'].year}", "kind": "period", "year": None,
             "period_start": goals["period"]["start"], "period_end": goals["period"]["end"],
             "document": goals["document"], "title": goals["title"], "issued_date": goals["issued"],
             "note": goals["period"].get("note")},
            [
                {"no": i, "code": g["code"], "name": g["name"], "clause": g.get("clause"), "text": g.get("text"),
                 "unit": g["unit"], "kind": "count", "county_only": True, "at_least": g.get("at_least", False),
                 "approx": g.get("approx", False), "total": g["total"], "deadline": goals["period"]["end"],
                 "deadline_text": f"{goals['period']['start'].year}—{goals['period']['end'].year}年",
                 "filing_day": None, "measure": g["measure"], "parts": None, "responsible": None, "_townships": {}}
                for i, g in enumerate(goals["goals"], start=1)
            ],
        ),
    ]
    for head, rows in sets:
        set_id = bind.execute(
            target_set.insert().returning(target_set.c.id),
            {**head, "source": "reference", "created_by": "system", "created_at": now},
        ).scalar_one()
        for row in rows:
            towns = row.pop("_townships")
            ind_id = bind.execute(indicator.insert().returning(indicator.c.id), {**row, "set_id": set_id}).scalar_one()
            if towns:
                bind.execute(figure.insert(), [{"indicator_id": ind_id, "township": t, "value": v} for t, v in towns.items()])


def downgrade() -> None:
    with op.batch_alter_table("monthly_filing", schema=None) as batch_op:
        batch_op.drop_index("ix_monthly_filing_period_enterprise")
    op.drop_table("monthly_filing")
    op.drop_table("target_figure")
    with op.batch_alter_table("target_indicator", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_target_indicator_set_id"))
    op.drop_table("target_indicator")
    op.drop_table("target_set")
