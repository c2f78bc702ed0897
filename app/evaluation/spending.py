"""Fund spending other than awards (冠政发〔2022〕9号 五（四）: "县工业和信息化局每年组织对培育资金使用情况进行第三方专项
审计，审计费用在统筹资金列支"; and 培育行动经费), recorded on the fund's ledger as entries of their own kinds.

Spending draws on the fund exactly as an approval does: the fund row is locked and the UPDATE itself checks
`drawn_yuan + amount <= budget_yuan`, so together with award approvals the fund is never overdrawn (and the
table's CHECK refuses an overdraft from any writer).
"""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from app.accounts.permissions import Principal
from app.audit import service as audit
from app.awards.funds import FundExhausted, draw_year
from app.awards.models import FUND_ENTRY_NAMES, SPENDING_KINDS, Fund, FundEntry
from app.db import utcnow
from app.errors import FieldError, Forbidden, NotFound, ValidationFailed


def spend(
    session: Session,
    *,
    actor: Principal,
    fund_id: int,
    kind: str,
    amount_yuan: int,
    spent_date: date,
    note: str,
    today: date | None = None,
) -> FundEntry:
    """Record a non-award spending on a fund; 409 `fund_exhausted` when the fund cannot pay it."""
    actor.require("awards:write")
    if not actor.is_county:
        raise Forbidden("资金支出由县级管理员登记")
    today = today or date.today()
    errors: list[FieldError] = []
    if kind not in SPENDING_KINDS:
        errors.append(
            FieldError(
                "kind", f"支出类别应为：{'、'.join(f'{k}（{FUND_ENTRY_NAMES[k]}）' for k in SPENDING_KINDS)}"
            )
        )
    if isinstance(amount_yuan, bool) or not isinstance(amount_yuan, int) or amount_yuan <= 0:
        errors.append(FieldError("amount_yuan", "支出金额须为大于 0 的整数（元）"))
    elif amount_yuan > 10**12:
        errors.append(FieldError("amount_yuan", "支出金额过大"))
    note = (note or "").strip()
    if not note:
        errors.append(FieldError("note", "请填写支出事由（如“2023 年度培育资金第三方专项审计费用”）"))
    if spent_date > today:
        errors.append(FieldError("spent_date", f"支出日期 {spent_date} 晚于今天"))
    fund = (
        session.scalar(select(Fund).where(Fund.id == fund_id).with_for_update())
        if 0 < fund_id < 2**31
        else None
    )
    if fund is None:
        raise NotFound("未找到该资金")
    if spent_date < fund.period_start:
        errors.append(
            FieldError(
                "spent_date", f"支出日期 {spent_date} 早于资金“{fund.name}”的起始日 {fund.period_start}"
            )
        )
    if errors:
        raise ValidationFailed(errors)
    before = fund.drawn_yuan
    # a yearly fund: the spending comes out of the envelope of its date's year (409 naming the year when short);
    # one dated after the period (the last year's audit, paid the year after) out of the last year's
    year = draw_year(session, fund, amount_yuan, min(spent_date, fund.period_end), field_name="spent_date")
    new_drawn = session.scalar(
        update(Fund)
        .where(Fund.id == fund.id, Fund.drawn_yuan + amount_yuan <= Fund.budget_yuan)
        .values(drawn_yuan=Fund.drawn_yuan + amount_yuan, updated_at=utcnow())
        .returning(Fund.drawn_yuan)
        .execution_options(synchronize_session=False)
    )
    if new_drawn is None:
        raise FundExhausted(fund, amount_yuan, fund.budget_yuan - fund.drawn_yuan)
    session.expire(fund, ["drawn_yuan", "updated_at"])
    entry = FundEntry(
        fund_id=fund.id,
        kind=kind,
        amount_yuan=amount_yuan,
        note=note,
        entry_date=spent_date,
        actor_name=actor.name,
        year=year,
    )
    session.add(entry)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="spend",
        entity_type="fund",
        entity_id=fund.id,
        changes={"drawn_yuan": [before, new_drawn], "kind": [None, kind], "amount_yuan": [None, amount_yuan]},
        note=f"{FUND_ENTRY_NAMES[kind]}：{note}",
    )
    return entry


@dataclass
class Spending:
    fund_id: int
    audit_fee_yuan: int
    action_cost_yuan: int

    @property
    def total_yuan(self) -> int:
        return self.audit_fee_yuan + self.action_cost_yuan


def spending(session: Session, *, start: date | None = None, end: date | None = None) -> dict[int, Spending]:
    """Per fund: non-award spending dated in [start, end] by kind (one query)."""
    E = FundEntry
    stmt = (
        select(
            E.fund_id,
            func.coalesce(func.sum(case((E.kind == "audit_fee", E.amount_yuan), else_=0)), 0),
            func.coalesce(func.sum(case((E.kind == "action_cost", E.amount_yuan), else_=0)), 0),
        )
        .where(E.kind.in_(SPENDING_KINDS))
        .group_by(E.fund_id)
    )
    if start:
        stmt = stmt.where(E.entry_date >= start)
    if end:
        stmt = stmt.where(E.entry_date <= end)
    return {fid: Spending(fid, int(a), int(b)) for fid, a, b in session.execute(stmt)}


def entries(
    session: Session, *, fund_id: int | None = None, start: date | None = None, end: date | None = None
) -> list[FundEntry]:
    stmt = select(FundEntry).where(FundEntry.kind.in_(SPENDING_KINDS))
    if fund_id is not None:
        stmt = stmt.where(FundEntry.fund_id == fund_id)
    if start:
        stmt = stmt.where(FundEntry.entry_date >= start)
    if end:
        stmt = stmt.where(FundEntry.entry_date <= end)
    return list(session.scalars(stmt.order_by(FundEntry.entry_date, FundEntry.id)))
