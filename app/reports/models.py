"""Monthly filings (月度填报): each enterprise's figures for a month, due by the filing day of the next.

`period` is the month as one integer (year * 12 + month - 1), so the previous month is
`period - 1` and the same month last year `period - 12`: growth is a self-join on an index.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigId, utcnow

# field → (Chinese label, unit); the order of the grid, the template and the API
FILING_FIELDS: dict[str, tuple[str, str]] = {
    "rd_spend_yuan": ("研发投入", "元"),
    "output_value_yuan": ("工业产值", "元"),
    "revenue_yuan": ("营业收入", "元"),
    "electricity_kwh": ("用电量", "千瓦时"),
}
REQUIRED_FIELDS = ("rd_spend_yuan", "output_value_yuan")


class MonthlyFiling(Base):
    """One enterprise's figures for one month. Saved again after the deadline it is a late correction."""

    __tablename__ = "monthly_filing"
    __table_args__ = (
        UniqueConstraint("enterprise_id", "period", name="uq_monthly_filing_enterprise_period"),
        Index("ix_monthly_filing_period_enterprise", "period", "enterprise_id"),
        CheckConstraint("month BETWEEN 1 AND 12", name="month"),
        CheckConstraint("period = year * 12 + month - 1", name="period"),
        CheckConstraint("rd_spend_yuan >= 0", name="rd_spend_nonneg"),
        CheckConstraint("output_value_yuan >= 0", name="output_value_nonneg"),
        CheckConstraint("revenue_yuan IS NULL OR revenue_yuan >= 0", name="revenue_nonneg"),
        CheckConstraint("electricity_kwh IS NULL OR electricity_kwh >= 0", name="electricity_nonneg"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    month: Mapped[int] = mapped_column(Integer)
    period: Mapped[int] = mapped_column(Integer)
    rd_spend_yuan: Mapped[int] = mapped_column(BigInteger)
    output_value_yuan: Mapped[int] = mapped_column(BigInteger)
    revenue_yuan: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    electricity_kwh: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    filed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    filed_by: Mapped[str] = mapped_column(String(100))
    filed_late: Mapped[bool] = mapped_column(Boolean, default=False)  # first filed after the deadline
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(100))
    corrected_late: Mapped[bool] = mapped_column(Boolean, default=False)  # changed after the deadline
    revisions: Mapped[int] = mapped_column(Integer, default=1)
    # Plausibility checks the saved figures raised (app.reports.plausibility): [{code, field, message}], and who
    # confirmed them after checking with the firm. Flagged in the reports until confirmed.
    checks: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    checks_confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    checks_confirmed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    checks_note: Mapped[str | None] = mapped_column(Text, nullable=True)

    @property
    def flagged(self) -> bool:
        """Implausible figures nobody has confirmed yet."""
        return bool(self.checks) and self.checks_confirmed_at is None
