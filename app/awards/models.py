"""Awards (奖补): recorded events, the award lines computed from them, funds and their ledger.

An award line is one amount from one funder under one rule for one event of one enterprise.
It keeps a receipt — the event, the facts, the rule and the versions of the policy files —
so the decision can be recomputed and explained years later (`policy_snapshot` keeps the
text of every version a line was computed with).
"""

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow

STATUSES = ("proposed", "approved", "paid", "rejected")
STATUS_NAMES = {"proposed": "待审核", "approved": "已批准", "paid": "已拨付", "rejected": "已驳回"}
FUND_ENTRY_KINDS = ("allocation", "top_up", "draw", "release", "audit_fee", "action_cost", "adjustment")
# Non-award spending (冠政发〔2022〕9号 五（四）: the yearly third-party audit's fee is paid from the fund;
# 培育行动经费) is recorded by app.evaluation.spending as entries of its own kinds.
SPENDING_KINDS = ("audit_fee", "action_cost")
FUND_ENTRY_NAMES = {
    "allocation": "预算安排",
    "top_up": "追加",
    "draw": "批准支出",
    "release": "驳回退回",
    "audit_fee": "第三方审计费用",
    "action_cost": "培育行动经费",
    "adjustment": "预算调整",
}
# Kinds that change a fund's budget; an `adjustment` (预算调整) carries the signed change (a cut is negative).
BUDGET_KINDS = ("allocation", "top_up", "adjustment")


class PolicySnapshot(Base):
    """The exact text of one version of one policy file, kept so old lines can be recomputed."""

    __tablename__ = "policy_snapshot"

    version: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the file
    document_code: Mapped[str] = mapped_column(String(40))
    file_name: Mapped[str] = mapped_column(String(100))
    content: Mapped[str] = mapped_column(Text)
    stored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class EnterpriseEvent(Base):
    """Something that happened to an enterprise and may earn awards (DOMAIN.md, Events).

    Honours are recorded by the registry; each gets an event of type `honour` here too, so every
    award line points at one event. `event_key` (a hash of the event's fields) makes recording
    the same event twice a conflict, never a second set of lines.
    """

    __tablename__ = "enterprise_event"
    __table_args__ = (
        UniqueConstraint("enterprise_id", "event_key", name="enterprise_event_key"),
        Index("ix_enterprise_event_event_date", "event_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(30))
    event_date: Mapped[date] = mapped_column(Date)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)  # the event as DOMAIN.md fields
    facts: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # facts the recorder added
    event_key: Mapped[str] = mapped_column(String(64))
    honour_id: Mapped[int | None] = mapped_column(
        ForeignKey("honour.id", ondelete="SET NULL"), nullable=True, unique=True
    )
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    recorded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Fund(Base):
    """A funder's budget for a period (DOMAIN.md, Funds). Approvals draw on it under a row lock.

    `budget_yuan` is the allocation plus top-ups and budget adjustments; `drawn_yuan` the approved amounts not
    released and the non-award spending. The CHECK makes an overdraft impossible even for a writer that skips the
    service.

    A `yearly` fund is an envelope for each calendar year of its period (冠政发〔2022〕9号 五（二）: "每年奖励资金和
    培育行动经费" out of the 500 万 that 冠政发〔2021〕18号 sets aside each year): its years are `fund_year` rows, each
    with its own budget and drawn amount, and the fund's figures are their sums. A draw counts in the year of the
    award's event date (spending in the year of its date).
    """

    __tablename__ = "fund"
    __table_args__ = (
        CheckConstraint("funder IN ('province','city','county')", name="funder"),
        CheckConstraint("budget_yuan >= 0", name="budget_nonneg"),
        CheckConstraint("drawn_yuan >= 0 AND drawn_yuan <= budget_yuan", name="not_overdrawn"),
        CheckConstraint("period_end >= period_start", name="period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    funder: Mapped[str] = mapped_column(String(10))
    document_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    clause: Mapped[str | None] = mapped_column(String(40), nullable=True)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    budget_yuan: Mapped[int] = mapped_column(BigInteger)
    drawn_yuan: Mapped[int] = mapped_column(BigInteger, default=0)
    yearly: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class FundYear(Base):
    """One calendar year's envelope of a yearly fund: its budget and what is drawn on it, never more."""

    __tablename__ = "fund_year"
    __table_args__ = (
        UniqueConstraint("fund_id", "year", name="fund_year_once"),
        CheckConstraint("budget_yuan >= 0", name="budget_nonneg"),
        CheckConstraint("drawn_yuan >= 0 AND drawn_yuan <= budget_yuan", name="not_overdrawn"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("fund.id", ondelete="CASCADE"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    budget_yuan: Mapped[int] = mapped_column(BigInteger)
    drawn_yuan: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    @property
    def remaining_yuan(self) -> int:
        return self.budget_yuan - self.drawn_yuan


class FundEntry(Base):
    """The fund's ledger: every allocation, top-up, budget adjustment, draw (approval), release (rejection after
    approval) and non-award spending. `year` names the envelope of a yearly fund the entry belongs to."""

    __tablename__ = "fund_entry"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('allocation','top_up','draw','release','audit_fee','action_cost','adjustment')",
            name="kind",
        ),
        CheckConstraint("amount_yuan >= 0 OR kind = 'adjustment'", name="amount_nonneg"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("fund.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    amount_yuan: Mapped[int] = mapped_column(BigInteger)
    award_line_id: Mapped[int | None] = mapped_column(
        ForeignKey("award_line.id", ondelete="SET NULL"), nullable=True, index=True
    )
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    entry_date: Mapped[date | None] = mapped_column(
        Date, nullable=True
    )  # the spending's date (non-award kinds)
    year: Mapped[int | None] = mapped_column(Integer, nullable=True)  # the envelope year of a yearly fund
    actor_name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AwardLine(Base):
    """One amount from one funder under one rule for one event: proposed → approved → paid, or rejected."""

    __tablename__ = "award_line"
    __table_args__ = (
        UniqueConstraint("enterprise_id", "rule_id", "event_id", name="enterprise_rule_event"),
        CheckConstraint("status IN ('proposed','approved','paid','rejected')", name="status"),
        CheckConstraint("funder IN ('province','city','county')", name="funder"),
        CheckConstraint("kind IN ('fixed','up_to','computed')", name="kind"),
        CheckConstraint("computed_yuan >= 0", name="computed_nonneg"),
        CheckConstraint(
            "amount_yuan IS NULL OR (amount_yuan >= 0 AND amount_yuan <= computed_yuan)",
            name="amount_within_cap",
        ),
        Index("ix_award_line_status_id", "status", "id"),
        Index("ix_award_line_event_date", "event_date"),
        Index("ix_award_line_enterprise_rule", "enterprise_id", "rule_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("enterprise_event.id"), index=True)
    event_type: Mapped[str] = mapped_column(String(30))
    event_date: Mapped[date] = mapped_column(Date)
    rule_id: Mapped[str] = mapped_column(String(100))
    document_code: Mapped[str] = mapped_column(String(40))
    document: Mapped[str] = mapped_column(String(60))  # 文号
    document_version: Mapped[str] = mapped_column(String(64))
    clause: Mapped[str] = mapped_column(String(40))
    funder: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(10))
    ceiling: Mapped[bool] = mapped_column(Boolean)
    computed_yuan: Mapped[int] = mapped_column(BigInteger)  # the engine's amount: the cap when `ceiling`
    amount_yuan: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # granted, set on approval
    explanation: Mapped[str] = mapped_column(Text)
    receipt: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default="proposed")
    fund_id: Mapped[int | None] = mapped_column(ForeignKey("fund.id"), nullable=True, index=True)
    # A line standing for several funders (技改 ≤10% 省、市、县合计): each funder's share of the approved
    # amount, entered at approval, {funder: 元}; `fund_id` then pays only the line's own funder's share.
    funder_split: Mapped[dict[str, int] | None] = mapped_column(JSON, nullable=True)
    decision_comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    rejected_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    paid_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    voucher_no: Mapped[str | None] = mapped_column(String(100), nullable=True)
    paid_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


__all__ = [
    "STATUSES",
    "STATUS_NAMES",
    "AwardLine",
    "EnterpriseEvent",
    "Fund",
    "FundEntry",
    "PolicySnapshot",
]
