"""Demo non-award spending: the yearly third-party audit fees and some 培育行动经费 on the county funds."""

import contextlib
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.permissions import SYSTEM
from app.awards.funds import FundExhausted
from app.awards.models import Fund, FundEntry
from app.evaluation import spending

ITEMS = [
    ("2023-03-20", "audit_fee", 48_000, "2022 年度培育资金使用情况第三方专项审计费用"),
    ("2023-09-15", "action_cost", 120_000, "数字专员与现代管理人员专题培训经费"),
    ("2024-03-18", "audit_fee", 52_000, "2023 年度培育资金使用情况第三方专项审计费用"),
    ("2024-10-10", "action_cost", 86_000, "企业家素质提升培训经费"),
    ("2025-03-21", "audit_fee", 55_000, "2024 年度培育资金使用情况第三方专项审计费用"),
    ("2025-06-12", "action_cost", 60_000, "三年行动全面评估总结经费"),
]


def seed(session: Session, today: date | None = None) -> None:
    today = today or date.today()
    if session.scalar(select(FundEntry.id).where(FundEntry.kind.in_(("audit_fee", "action_cost"))).limit(1)):
        return
    funds = list(
        session.scalars(select(Fund).where(Fund.funder == "county").order_by(Fund.period_start, Fund.id))
    )
    if not funds:
        return
    for day, kind, amount, note in ITEMS:
        when = date.fromisoformat(day)
        if when > today:
            continue
        fund = next((f for f in funds if f.period_start <= when <= f.period_end), funds[-1])
        with contextlib.suppress(FundExhausted), session.begin_nested():
            spending.spend(
                session,
                actor=SYSTEM,
                fund_id=fund.id,
                kind=kind,
                amount_yuan=amount,
                spent_date=when,
                note=note,
                today=today,
            )
