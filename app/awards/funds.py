"""Funds (资金): a funder's budget for a period, its ledger, and drawing on it without overdraft.

Approving an award draws on a fund. The fund row is locked (`SELECT … FOR UPDATE`) and the
balance is checked by the UPDATE itself (`… WHERE drawn_yuan + :amount <= budget_yuan`), so
however many approvals arrive at once the sum drawn never exceeds the budget; a CHECK
constraint on the table refuses an overdraft even from a writer that skips this module.

A yearly fund (`Fund.yearly`) keeps one envelope per calendar year (`fund_year`): a draw is
checked against the year of the award's event date the same way, and the county admin sets or
lowers each year's budget (`set_year_budget`, a ledger entry of kind `adjustment` with its reason),
never below what that year has already drawn.
"""

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.orm import Session

from app.accounts.permissions import Principal
from app.audit import service as audit
from app.awards.models import BUDGET_KINDS, SPENDING_KINDS, AwardLine, Fund, FundEntry, FundYear
from app.db import utcnow
from app.errors import AppError, Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from app.policies import store as policy_store
from app.policies.schema import FUNDER_NAMES

FUND_FIELDS = (
    "code",
    "name",
    "funder",
    "document_code",
    "clause",
    "period_start",
    "period_end",
    "budget_yuan",
)


class FundExhausted(AppError):
    """The fund (or, for a yearly fund, the year's envelope) cannot pay this amount: 409 `fund_exhausted`."""

    def __init__(self, fund: Fund, amount: int, remaining: int, year: int | None = None):
        what = f"资金“{fund.name}”{year} 年额度" if year is not None else f"资金“{fund.name}”"
        super().__init__(
            detail=f"{what}余额不足：尚余 {remaining:,} 元，本次需 {amount:,} 元",
            errors=[FieldError("fund_id", f"{what}尚余 {remaining:,} 元，不足 {amount:,} 元")],
            status_code=409,
            code="fund_exhausted",
            title="Conflict",
        )


# --- reads ----------------------------------------------------------------------------------


@dataclass
class FundBalance:
    fund: Fund
    paid_yuan: int
    proposed_yuan: int
    years: list[FundYear] = field(default_factory=list)  # a yearly fund's envelopes, by year

    @property
    def remaining_yuan(self) -> int:
        return self.fund.budget_yuan - self.fund.drawn_yuan


def _proposed_for(fund_alias=Fund):
    """Proposed lines a fund would pay: same funder, event in its period, same document (or none set)."""
    return and_(
        AwardLine.status == "proposed",
        AwardLine.funder == fund_alias.funder,
        AwardLine.event_date.between(fund_alias.period_start, fund_alias.period_end),
        or_(fund_alias.document_code.is_(None), AwardLine.document_code == fund_alias.document_code),
    )


def balances(session: Session) -> list[FundBalance]:
    """Every fund with what is paid from it and what proposed lines would take: one query."""
    paid = (
        select(func.coalesce(func.sum(AwardLine.amount_yuan), 0))
        .where(AwardLine.fund_id == Fund.id, AwardLine.status == "paid")
        .scalar_subquery()
    )
    proposed = (
        select(func.coalesce(func.sum(AwardLine.computed_yuan), 0)).where(_proposed_for()).scalar_subquery()
    )
    rows = session.execute(
        select(Fund, paid, proposed).order_by(
            case({"county": 0, "city": 1, "province": 2}, value=Fund.funder), Fund.period_start, Fund.id
        )
    ).all()
    years: dict[int, list[FundYear]] = {}
    for y in session.scalars(select(FundYear).order_by(FundYear.fund_id, FundYear.year)):
        years.setdefault(y.fund_id, []).append(y)
    return [FundBalance(f, int(p), int(q), years.get(f.id, [])) for f, p, q in rows]


def years_of(session: Session, fund_id: int) -> list[FundYear]:
    return list(session.scalars(select(FundYear).where(FundYear.fund_id == fund_id).order_by(FundYear.year)))


def get(session: Session, fund_id: int) -> Fund:
    fund = session.get(Fund, fund_id)
    if fund is None:
        raise NotFound("未找到该资金")
    return fund


def entries(session: Session, fund_id: int, *, limit: int = 500) -> list[FundEntry]:
    get(session, fund_id)
    return list(
        session.scalars(
            select(FundEntry).where(FundEntry.fund_id == fund_id).order_by(FundEntry.id.desc()).limit(limit)
        )
    )


# --- admin: create, set the period, top up --------------------------------------------------


def _check_period(start: date, end: date) -> None:
    if end < start:
        raise ValidationFailed.one("period_end", "资金期间的结束日期不能早于开始日期")


def _entry(
    session: Session,
    fund: Fund,
    kind: str,
    amount: int,
    actor: Principal,
    *,
    line_id=None,
    note=None,
    year: int | None = None,
):
    entry = FundEntry(
        fund_id=fund.id,
        kind=kind,
        amount_yuan=amount,
        award_line_id=line_id,
        note=note,
        actor_name=actor.name,
        year=year,
    )
    session.add(entry)
    return entry


def create(
    session: Session,
    *,
    actor: Principal,
    name: str,
    funder: str,
    period_start: date,
    period_end: date,
    amount_yuan: int,
    code: str | None = None,
    document_code: str | None = None,
    clause: str | None = None,
    note: str | None = None,
    yearly: bool = False,
) -> Fund:
    """Set up a fund. A yearly fund gets `amount_yuan` for each calendar year of its period (one envelope each)."""
    actor.require("awards:write")
    _check_period(period_start, period_end)
    if document_code is not None and document_code not in policy_store.current(session).documents:
        raise ValidationFailed.one("document_code", f"未知的政策文件代码“{document_code}”")
    if code is None:
        code = f"{funder}.{period_start.year}-{period_end.year}.{session.scalar(select(func.count(Fund.id))) + 1}"
    if session.scalar(select(Fund.id).where(Fund.code == code)):
        raise Conflict("资金代码已存在", errors=[FieldError("code", f"资金代码 {code} 已存在")])
    fund = open_fund(
        session,
        actor,
        code=code,
        name=name,
        funder=funder,
        document_code=document_code,
        clause=clause,
        period_start=period_start,
        period_end=period_end,
        amount_yuan=amount_yuan,
        yearly=yearly,
        note=note or "预算安排",
    )
    audit.record(
        session,
        actor=actor,
        action="create",
        entity_type="fund",
        entity_id=fund.id,
        changes={
            k: [None, v]
            for k, v in audit.snapshot(fund, FUND_FIELDS + (("yearly",) if yearly else ())).items()
            if v is not None
        },
        note=note,
    )
    return fund


def open_fund(
    session: Session,
    actor: Principal,
    *,
    code: str,
    name: str,
    funder: str,
    document_code: str | None,
    clause: str | None,
    period_start: date,
    period_end: date,
    amount_yuan: int,
    yearly: bool,
    note: str,
) -> Fund:
    """The fund row with its allocation on the ledger — for a yearly fund one envelope of `amount_yuan` and one
    allocation per calendar year of the period. The caller checks permissions and audits."""
    years = list(range(period_start.year, period_end.year + 1)) if yearly else []
    fund = Fund(
        code=code,
        name=name,
        funder=funder,
        document_code=document_code,
        clause=clause,
        period_start=period_start,
        period_end=period_end,
        budget_yuan=amount_yuan * (len(years) or 1),
        drawn_yuan=0,
        yearly=yearly,
    )
    session.add(fund)
    session.flush()
    if yearly:
        for y in years:
            session.add(FundYear(fund_id=fund.id, year=y, budget_yuan=amount_yuan, drawn_yuan=0))
            _entry(session, fund, "allocation", amount_yuan, actor, note=f"{y} 年额度：{note}", year=y)
    else:
        _entry(session, fund, "allocation", amount_yuan, actor, note=note)
    session.flush()
    return fund


def update_fund(
    session: Session, *, actor: Principal, fund_id: int, name=None, period_start=None, period_end=None
) -> Fund:
    """Rename a fund or set its period. A period that would leave approved lines outside it is refused."""
    actor.require("awards:write")
    fund = session.scalar(select(Fund).where(Fund.id == fund_id).with_for_update())
    if fund is None:
        raise NotFound("未找到该资金")
    before = audit.snapshot(fund, FUND_FIELDS)
    start = period_start or fund.period_start
    end = period_end or fund.period_end
    _check_period(start, end)
    outside = session.scalar(
        select(func.count(AwardLine.id)).where(
            AwardLine.fund_id == fund.id,
            AwardLine.status.in_(("approved", "paid")),
            or_(AwardLine.event_date < start, AwardLine.event_date > end),
        )
    )
    if outside:
        raise ValidationFailed.one("period_start", f"已有 {outside} 笔已批准的奖补的事件日期不在新的期间内")
    if fund.yearly:
        _fit_years(session, actor, fund, start, end)
    if name:
        fund.name = name
    fund.period_start, fund.period_end = start, end
    delta = audit.diff(before, audit.snapshot(fund, FUND_FIELDS))
    if delta:
        fund.updated_at = utcnow()
        session.flush()
        audit.record(
            session, actor=actor, action="update", entity_type="fund", entity_id=fund.id, changes=delta
        )
    return fund


def _fit_years(session: Session, actor: Principal, fund: Fund, start: date, end: date) -> None:
    """A yearly fund's period changed: a year it gains opens with a budget of 0 (the admin sets it); a year it
    loses must have nothing drawn, and its budget leaves the fund as a recorded adjustment."""
    rows = {y.year: y for y in years_of(session, fund.id)}
    wanted = set(range(start.year, end.year + 1))
    for y in sorted(set(rows) - wanted):
        row = rows[y]
        if row.drawn_yuan:
            raise ValidationFailed.one(
                "period_start", f"{y} 年额度已支用 {row.drawn_yuan:,} 元，资金期间不能不含 {y} 年"
            )
        if row.budget_yuan:
            fund.budget_yuan -= row.budget_yuan
            _entry(
                session,
                fund,
                "adjustment",
                -row.budget_yuan,
                actor,
                note=f"资金期间不再含 {y} 年，取消该年额度",
                year=y,
            )
        session.delete(row)
    for y in sorted(wanted - set(rows)):
        session.add(FundYear(fund_id=fund.id, year=y, budget_yuan=0, drawn_yuan=0))


def _year_row(session: Session, fund: Fund, year: int | None, field_name: str = "year") -> FundYear:
    """The locked envelope of `year` of a yearly fund; a clear error naming the field when there is none."""
    if year is None:
        raise ValidationFailed.one(field_name, f"资金“{fund.name}”按年设额度，请填写年度")
    row = session.scalar(
        select(FundYear)
        .where(FundYear.fund_id == fund.id, FundYear.year == year)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if row is None:
        raise ValidationFailed.one(
            field_name, f"资金“{fund.name}”没有 {year} 年的额度（期间 {fund.period_start}—{fund.period_end}）"
        )
    return row


def set_year_budget(
    session: Session,
    *,
    actor: Principal,
    fund_id: int,
    budget_yuan: int,
    reason: str,
    year: int | None = None,
) -> FundEntry:
    """预算调整: set a year's budget of a yearly fund (or a fund's whole budget) — raise or lower it, never below
    what is already drawn (that year). A ledger entry of kind `adjustment` carries the signed change and the
    reason; the change is audited. County admins only."""
    actor.require("awards:write")
    if not actor.is_county:
        raise Forbidden("资金预算由县级管理员调整")
    errors: list[FieldError] = []
    if isinstance(budget_yuan, bool) or not isinstance(budget_yuan, int) or budget_yuan < 0:
        errors.append(FieldError("budget_yuan", "调整后的预算须为不小于 0 的整数（元）"))
    elif budget_yuan > 10**12:
        errors.append(FieldError("budget_yuan", "调整后的预算过大"))
    reason = (reason or "").strip()
    if not reason:
        errors.append(FieldError("reason", "请填写调整理由（如 县政府常务会议纪要）"))
    if errors:
        raise ValidationFailed(errors)
    fund = session.scalar(
        select(Fund).where(Fund.id == fund_id).with_for_update().execution_options(populate_existing=True)
    )
    if fund is None:
        raise NotFound("未找到该资金")
    if fund.yearly:
        row = _year_row(session, fund, year)
        before, drawn, what = row.budget_yuan, row.drawn_yuan, f"{year} 年额度"
    else:
        if year is not None:
            raise ValidationFailed.one(
                "year", f"资金“{fund.name}”不按年设额度，调整的是整个期间的预算，不填年度"
            )
        row, before, drawn, what = None, fund.budget_yuan, fund.drawn_yuan, "预算"
    if budget_yuan < drawn:
        raise ValidationFailed.one(
            "budget_yuan",
            f"资金“{fund.name}”{what}不能低于已支用的 {drawn:,} 元（含已批准的奖补和其他支出），调整后为 {budget_yuan:,} 元",
        )
    if budget_yuan == before:
        raise ValidationFailed.one("budget_yuan", f"资金“{fund.name}”{what}已是 {before:,} 元，无需调整")
    delta = budget_yuan - before
    if row is not None:
        row.budget_yuan, row.updated_at = budget_yuan, utcnow()
    fund_before = fund.budget_yuan
    fund.budget_yuan, fund.updated_at = fund.budget_yuan + delta, utcnow()
    entry = _entry(session, fund, "adjustment", delta, actor, note=reason, year=year if fund.yearly else None)
    session.flush()
    changes = {"budget_yuan": [fund_before, fund.budget_yuan]}
    if row is not None:
        changes = {"year": [None, year], "year_budget_yuan": [before, budget_yuan], **changes}
    audit.record(
        session,
        actor=actor,
        action="adjust_budget",
        entity_type="fund",
        entity_id=fund.id,
        changes=changes,
        note=f"{what}：{reason}",
    )
    return entry


def top_up(
    session: Session, *, actor: Principal, fund_id: int, amount_yuan: int, note: str, year: int | None = None
) -> FundEntry:
    """追加资金: a ledger record, audited; the budget (of a yearly fund: the year's) grows under the row lock."""
    actor.require("awards:write")
    if amount_yuan <= 0:
        raise ValidationFailed.one("amount_yuan", "追加金额须大于 0")
    if not note or not note.strip():
        raise ValidationFailed.one("note", "请填写追加依据")
    fund = session.scalar(select(Fund).where(Fund.id == fund_id).with_for_update())
    if fund is None:
        raise NotFound("未找到该资金")
    if fund.yearly:
        row = _year_row(session, fund, year)
        row.budget_yuan, row.updated_at = row.budget_yuan + amount_yuan, utcnow()
    else:
        year = None
    before = fund.budget_yuan
    session.execute(
        update(Fund)
        .where(Fund.id == fund.id)
        .values(budget_yuan=Fund.budget_yuan + amount_yuan, updated_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )
    entry = _entry(session, fund, "top_up", amount_yuan, actor, note=note, year=year)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="top_up",
        entity_type="fund",
        entity_id=fund.id,
        changes={"budget_yuan": [before, before + amount_yuan]},
        note=note,
    )
    return entry


def ensure_policy_funds(session: Session, actor: Principal) -> list[Fund]:
    """Create the funds the policy files name (`funds:`) that are not in the database yet."""
    created = []
    existing = set(session.scalars(select(Fund.code)))
    for doc in policy_store.current(session).documents.values():
        for f in doc.spec.funds:
            if f.id in existing:
                continue
            created.append(
                create(
                    session,
                    actor=actor,
                    code=f.id,
                    name=f"{FUNDER_NAMES[f.funder]}财政 {doc.number} {f.clause}",
                    funder=f.funder,
                    document_code=doc.code,
                    clause=f.clause,
                    period_start=f.period.start,
                    period_end=f.period.end,
                    amount_yuan=f.amount_yuan,
                    note=f"{doc.number} {f.clause}：{f.clause_text}",
                    yearly=f.yearly,
                )
            )
    return created


# --- drawing on a fund -----------------------------------------------------------------------


def choose(session: Session, line: AwardLine, fund_id: int | None) -> Fund | None:
    """The fund an approval draws on: the one given, or the one matching funder, event date and document.

    Province and city lines draw only on a fund of their own funder, if one exists; a county
    line must have one.
    """
    if fund_id is not None:
        fund = session.get(Fund, fund_id)
        if fund is None:
            raise ValidationFailed.one("fund_id", f"未找到资金 {fund_id}")
        if fund.funder != line.funder:
            raise ValidationFailed.one(
                "fund_id",
                f"资金“{fund.name}”为{FUNDER_NAMES[fund.funder]}资金，不能支付{FUNDER_NAMES[line.funder]}奖补",
            )
        if not fund.period_start <= line.event_date <= fund.period_end:
            raise ValidationFailed.one(
                "fund_id",
                f"事件日期 {line.event_date} 不在资金“{fund.name}”的期间（{fund.period_start}—{fund.period_end}）内",
            )
        return fund
    candidates = list(
        session.scalars(
            select(Fund)
            .where(
                Fund.funder == line.funder,
                Fund.period_start <= line.event_date,
                Fund.period_end >= line.event_date,
                or_(Fund.document_code.is_(None), Fund.document_code == line.document_code),
            )
            .order_by(Fund.id)
        )
    )
    ps = policy_store.current(session)
    policy_fund = ps.fund_for(line.rule_id) if line.rule_id in ps.rules else None
    for preferred in (
        [f for f in candidates if policy_fund is not None and f.code == policy_fund.id],
        [f for f in candidates if f.document_code == line.document_code],
        candidates,
    ):
        if len(preferred) == 1:
            return preferred[0]
        if len(preferred) > 1:
            names = "、".join(f"{f.id}：{f.name}" for f in preferred)
            raise ValidationFailed.one("fund_id", f"有多个资金可支付该奖补（{names}），请选择一个")
    if line.funder == "county":
        raise Conflict(
            f"没有覆盖事件日期 {line.event_date} 的县级资金（{line.document} {line.clause}），请先设立资金",
            errors=[FieldError("fund_id", "没有可用的县级资金")],
            code="no_fund",
        )
    return None


def draw(session: Session, *, actor: Principal, fund: Fund, amount: int, line: AwardLine) -> FundEntry:
    """Take `amount` from the fund, or raise FundExhausted. Locks the fund row until the transaction ends."""
    locked = session.scalar(
        select(Fund).where(Fund.id == fund.id).with_for_update().execution_options(populate_existing=True)
    )
    year = draw_year(session, locked, amount, line.event_date, field_name="fund_id")
    new_drawn = session.scalar(
        update(Fund)
        .where(Fund.id == fund.id, Fund.drawn_yuan + amount <= Fund.budget_yuan)
        .values(drawn_yuan=Fund.drawn_yuan + amount, updated_at=utcnow())
        .returning(Fund.drawn_yuan)
        .execution_options(synchronize_session=False)
    )
    if new_drawn is None:
        raise FundExhausted(locked, amount, locked.budget_yuan - locked.drawn_yuan)
    session.expire(locked, ["drawn_yuan", "updated_at"])
    return _entry(
        session, locked, "draw", amount, actor, line_id=line.id, note=f"批准奖补 {line.id}", year=year
    )


def draw_year(session: Session, fund: Fund, amount: int, on: date, *, field_name: str) -> int | None:
    """For a yearly fund (its row already locked): take `amount` from the envelope of `on`'s year, or raise
    FundExhausted naming the year. Returns the year, or None for a fund with one budget."""
    if not fund.yearly:
        return None
    row = _year_row(session, fund, on.year, field_name)
    taken = session.scalar(
        update(FundYear)
        .where(FundYear.id == row.id, FundYear.drawn_yuan + amount <= FundYear.budget_yuan)
        .values(drawn_yuan=FundYear.drawn_yuan + amount, updated_at=utcnow())
        .returning(FundYear.drawn_yuan)
        .execution_options(synchronize_session=False)
    )
    if taken is None:
        raise FundExhausted(fund, amount, row.budget_yuan - row.drawn_yuan, year=on.year)
    session.expire(row, ["drawn_yuan", "updated_at"])
    return on.year


def release(
    session: Session, *, actor: Principal, fund_id: int, amount: int, line: AwardLine, note: str
) -> FundEntry:
    """Give back what an approval drew (the line was rejected before payment)."""
    fund = session.scalar(select(Fund).where(Fund.id == fund_id).with_for_update())
    year = None
    if fund.yearly:
        year = (
            session.scalar(
                select(FundEntry.year)
                .where(
                    FundEntry.award_line_id == line.id, FundEntry.kind == "draw", FundEntry.fund_id == fund_id
                )
                .order_by(FundEntry.id.desc())
                .limit(1)
            )
            or line.event_date.year
        )
        session.execute(
            update(FundYear)
            .where(FundYear.fund_id == fund_id, FundYear.year == year)
            .values(drawn_yuan=FundYear.drawn_yuan - amount, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    session.execute(
        update(Fund)
        .where(Fund.id == fund_id)
        .values(drawn_yuan=Fund.drawn_yuan - amount, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.expire(fund, ["drawn_yuan", "updated_at"])
    return _entry(session, fund, "release", amount, actor, line_id=line.id, note=note, year=year)


def ledger_check(session: Session) -> dict[int, dict]:
    """Per fund: drawn on the row, net of the ledger (draws and non-award spending − releases), and approved+paid
    lines on it (drawn = lines + spending); the budget against the ledger's allocations, top-ups and adjustments;
    for a yearly fund, its years' budgets and draws summed (each equals the fund's)."""
    net = (
        select(
            func.coalesce(
                func.sum(
                    case(
                        (FundEntry.kind.in_(("draw", *SPENDING_KINDS)), FundEntry.amount_yuan),
                        (FundEntry.kind == "release", -FundEntry.amount_yuan),
                        else_=0,
                    )
                ),
                0,
            )
        )
        .where(FundEntry.fund_id == Fund.id)
        .scalar_subquery()
    )
    budget = (
        select(
            func.coalesce(
                func.sum(case((FundEntry.kind.in_(BUDGET_KINDS), FundEntry.amount_yuan), else_=0)), 0
            )
        )
        .where(FundEntry.fund_id == Fund.id)
        .scalar_subquery()
    )
    lines = (
        select(func.coalesce(func.sum(AwardLine.amount_yuan), 0))
        .where(AwardLine.fund_id == Fund.id, AwardLine.status.in_(("approved", "paid")))
        .scalar_subquery()
    )
    year_budget = select(func.sum(FundYear.budget_yuan)).where(FundYear.fund_id == Fund.id).scalar_subquery()
    year_drawn = select(func.sum(FundYear.drawn_yuan)).where(FundYear.fund_id == Fund.id).scalar_subquery()
    return {
        fid: {
            "budget_yuan": b,
            "ledger_budget_yuan": int(lb),
            "drawn_yuan": d,
            "ledger_net_drawn_yuan": int(n),
            "lines_yuan": int(ln),
            "years_budget_yuan": None if yb is None else int(yb),
            "years_drawn_yuan": None if yd is None else int(yd),
        }
        for fid, b, lb, d, n, ln, yb, yd in session.execute(
            select(Fund.id, Fund.budget_yuan, budget, Fund.drawn_yuan, net, lines, year_budget, year_drawn)
        )
    }


__all__ = [
    "FundBalance",
    "FundExhausted",
    "balances",
    "choose",
    "create",
    "draw",
    "ensure_policy_funds",
    "entries",
    "get",
    "ledger_check",
    "draw_year",
    "release",
    "set_year_budget",
    "top_up",
    "update_fund",
    "years_of",
]
