"""The yearly evaluation (冠政发〔2022〕9号 五（四）: "做好年度工作成效评估。三年行动结束后，进行全面评估总结", made public).

One report for a calendar year, or for the three-year plan (2022-01-01 – 2024-12-31), read as of a date (today
for a year not yet ended): targets and goals by township and indicator, awards by clause, funder, fund and
township (proposed / approved / paid), fund use and balance, pool movements, the 服务直通车 problems, visits
and plans, and the registers (training, 数字化测评, projects).

Every figure comes from the service function behind the live page that shows it — the target matrix, the
award ledger totals, the fund balances, the problem statistics, the visit counts, the register totals — so
the report and the pages agree for the same date (tested). The public version leaves out personal contact
data: the officials' and 服务专员's names and phones.

A period that has ended is read as it stood on its last day, not as things stand now: a problem resolved
the next January was open at the year's end (its steps' dates), an award approved the next year was still
proposed (its decision and payment dates), a fund had drawn what was approved by then and had the budget
changes made by then (a yearly fund: the year's envelope), plan tasks done later were not done,
officers had the firms assigned to them on that day, and pool membership is read at that date.
"""

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from app.accounts.permissions import Principal
from app.awards import funds as fund_service
from app.awards.ledger import day_end, ledger_totals, status_at
from app.awards.models import BUDGET_KINDS, SPENDING_KINDS, AwardLine, Fund, FundEntry
from app.awards.workflow import LineFilters, visible_lines
from app.enterprises.models import Enterprise
from app.errors import NotFound, ValidationFailed
from app.evaluation import spending as spending_service
from app.policies.schema import FUNDER_NAMES
from app.pools import store as pool_store
from app.pools.models import PoolMembership
from app.reference import township_names
from app.registers import service as registers
from app.support import problems, visits
from app.targets import service as target_service
from app.targets.models import TargetSet
from app.targets.progress import STATUS_NAMES, IndicatorProgress, Matrix

PLAN_START, PLAN_END = date(2022, 1, 1), date(2024, 12, 31)
GRADUATED = ("above_scale", "honoured", "talent_selected")  # left the pool because its goal was reached


@dataclass
class AwardRow:
    key: str
    label: str
    proposed_count: int = 0
    proposed_yuan: int = 0  # at the caps
    approved_count: int = 0
    approved_yuan: int = 0
    paid_count: int = 0
    paid_yuan: int = 0


@dataclass
class FundRow:
    fund: Fund
    paid_awards_yuan: int
    drawn_yuan: int  # approved awards and spending, net of releases (the fund row)
    spent: spending_service.Spending
    spent_in_window: spending_service.Spending
    budget_yuan: int | None = None  # the fund's (or the year's) budget; None: the fund's as it is now
    label: str = ""  # the fund's name, with the year for a yearly fund's envelope

    def __post_init__(self):
        if self.budget_yuan is None:
            self.budget_yuan = self.fund.budget_yuan
        self.label = self.label or self.fund.name

    @property
    def remaining_yuan(self) -> int:
        return self.budget_yuan - self.drawn_yuan


@dataclass
class PoolRow:
    code: str
    name: str
    entered: int
    graduated: int
    left: int
    members_at_end: int


@dataclass
class Report:
    scope: str  # year | plan
    year: int | None
    start: date
    end: date
    as_of: date
    public: bool
    title: str
    matrices: list[tuple[str, Matrix]] = field(default_factory=list)
    award_totals: dict[str, int] = field(default_factory=dict)
    awards_by: dict[str, list[AwardRow]] = field(default_factory=dict)
    funds: list[FundRow] = field(default_factory=list)
    pools: list[PoolRow] = field(default_factory=list)
    problem_total: problems.StatRow | None = None
    problems_by_category: list[problems.StatRow] = field(default_factory=list)
    problems_by_township: list[problems.StatRow] = field(default_factory=list)
    visit_counts: visits.VisitCounts | None = None
    register_totals: registers.Totals | None = None
    officers: list[visits.OfficerLoad] = field(default_factory=list)  # internal version only

    @property
    def status_names(self) -> dict[str, str]:
        return STATUS_NAMES


def period_of(scope: str, year: int | None, today: date) -> tuple[date, date, date, str]:
    """(start, end, as_of, title) of a report: as_of is the end, or today when the period has not ended."""
    if scope == "plan":
        start, end = PLAN_START, PLAN_END
        title = "冠县中小企业“育苗扶壮”梯度培育计划三年行动（2022—2024 年）全面评估总结"
    elif scope == "year":
        if year is None or not 2022 <= year <= today.year:
            raise ValidationFailed.one("year", f"year：年度应在 2022–{today.year} 之间")
        start, end = date(year, 1, 1), date(year, 12, 31)
        title = f"冠县{year}年度中小企业梯度培育工作成效评估报告"
    else:
        raise ValidationFailed.one("scope", "scope：应为 year（年度）或 plan（三年行动）")
    if start > today:
        raise NotFound("评估期间尚未开始")
    return start, end, min(end, today), title


def _sets(session: Session, scope: str, year: int | None, start: date, end: date) -> list[TargetSet]:
    """The annual table of the year, and every period table (the 2022–2024 goals) overlapping the window."""
    stmt = select(TargetSet).where(TargetSet.period_start <= end, TargetSet.period_end >= start)
    if scope == "year":
        stmt = stmt.where((TargetSet.kind == "period") | (TargetSet.key == str(year)))
    else:
        stmt = stmt.where(TargetSet.kind == "period")
    return list(session.scalars(stmt.order_by(TargetSet.kind, TargetSet.key)))


def _funds_at(
    session: Session, scope: str, year: int | None, start: date, end: date, as_of: date
) -> list[FundRow]:
    """Each fund as it stood at the end of `as_of`: its budget (the allocation, and top-ups and adjustments made by
    then), what it had drawn (the awards on it approved or paid by then, in the ledger's own states, plus spending
    dated by then) and the awards paid by then. For a year's report a yearly fund shows that year's envelope (and is
    left out in a year it has none)."""
    cutoff = day_end(as_of)
    E = FundEntry
    budget = func.coalesce(
        func.sum(
            case(
                (E.kind == "allocation", E.amount_yuan),
                (and_(E.kind.in_(BUDGET_KINDS), E.created_at < cutoff), E.amount_yuan),
                else_=0,
            )
        ),
        0,
    )
    spent = func.coalesce(
        func.sum(case((and_(E.kind.in_(SPENDING_KINDS), E.entry_date <= as_of), E.amount_yuan), else_=0)), 0
    )
    audit_fee = func.coalesce(
        func.sum(case((and_(E.kind == "audit_fee", E.entry_date <= as_of), E.amount_yuan), else_=0)), 0
    )
    action = func.coalesce(
        func.sum(case((and_(E.kind == "action_cost", E.entry_date <= as_of), E.amount_yuan), else_=0)), 0
    )
    window = [E.entry_date.between(start, end)]
    audit_w = func.coalesce(func.sum(case((and_(E.kind == "audit_fee", *window), E.amount_yuan), else_=0)), 0)
    action_w = func.coalesce(
        func.sum(case((and_(E.kind == "action_cost", *window), E.amount_yuan), else_=0)), 0
    )
    rows = []
    for fund in session.scalars(
        select(Fund).order_by(
            case({"county": 0, "city": 1, "province": 2}, value=Fund.funder), Fund.period_start, Fund.id
        )
    ):
        envelope = fund.yearly and scope == "year" and year is not None
        stmt = select(budget, spent, audit_fee, action, audit_w, action_w).where(E.fund_id == fund.id)
        paid = select(func.coalesce(func.sum(AwardLine.amount_yuan), 0)).where(
            AwardLine.fund_id == fund.id, AwardLine.paid_date <= as_of
        )
        held = select(func.coalesce(func.sum(AwardLine.amount_yuan), 0)).where(
            AwardLine.fund_id == fund.id, status_at(as_of).in_(("approved", "paid"))
        )
        if envelope:
            if not fund.period_start.year <= year <= fund.period_end.year:
                continue
            stmt = stmt.where(E.year == year)
            in_year = AwardLine.event_date.between(date(year, 1, 1), date(year, 12, 31))
            paid, held = paid.where(in_year), held.where(in_year)
        b, sp, af, ac, afw, acw = (int(x) for x in session.execute(stmt).one())
        d = sp + int(session.scalar(held) or 0)
        rows.append(
            FundRow(
                fund,
                int(session.scalar(paid) or 0),
                d,
                spending_service.Spending(fund.id, af, ac),
                spending_service.Spending(fund.id, afw, acw),
                budget_yuan=b,
                label=f"{fund.name}（{year} 年额度）" if envelope else fund.name,
            )
        )
    return rows


def _awards_by(
    session: Session, actor: Principal, start: date, end: date, as_of: date | None = None
) -> dict[str, list[AwardRow]]:
    """Award lines with events dated in the window, grouped four ways (one GROUP BY each), as the ledger counts
    them: proposed and rejected at their caps, approved and paid at the granted amount; with `as_of`, as they
    stood at the end of that day."""
    state = status_at(as_of)
    names = township_names()
    fund_names = dict(session.execute(select(Fund.id, Fund.name)).all())
    dims = {
        "clause": (AwardLine.document, AwardLine.clause),
        "funder": (AwardLine.funder,),
        "fund": (AwardLine.fund_id,),
        "township": (Enterprise.township,),
    }
    out: dict[str, list[AwardRow]] = {}
    for dim, cols in dims.items():
        stmt = (
            select(
                *cols,
                state,
                func.count(AwardLine.id),
                func.coalesce(func.sum(AwardLine.computed_yuan), 0),
                func.coalesce(func.sum(AwardLine.amount_yuan), 0),
            )
            .join(Enterprise, visible_lines(actor))
            .where(AwardLine.event_date.between(start, end), state != "rejected")
            .group_by(*cols, state)
        )
        rows: dict[str, AwardRow] = {}
        for r in session.execute(stmt):
            keys, (status, n, computed, granted) = r[: len(cols)], r[len(cols) :]
            if dim == "clause":
                key, label = f"{keys[0]} {keys[1]}", f"{keys[0]} {keys[1]}"
            elif dim == "funder":
                key, label = keys[0], FUNDER_NAMES.get(keys[0], keys[0])
            elif dim == "fund":
                key, label = str(keys[0] or ""), fund_names.get(keys[0], "未指定资金（待审核）")
            else:
                key, label = keys[0], names.get(keys[0], keys[0])
            row = rows.setdefault(key, AwardRow(key, label))
            setattr(row, f"{status}_count", int(n))
            setattr(row, f"{status}_yuan", int(computed if status == "proposed" else granted))
        order = list(names) if dim == "township" else None
        out[dim] = sorted(
            rows.values(), key=lambda a: (order.index(a.key) if order and a.key in order else 99, a.label)
        )
    return out


def _pools(session: Session, actor: Principal, start: date, end: date, as_of: date) -> list[PoolRow]:
    """Per pool: stays entered, left because the goal was reached (毕业), left otherwise, members on as_of."""
    M = PoolMembership
    seen = [Enterprise.deleted_at.is_(None)]
    if actor.township_filter():
        seen.append(Enterprise.township == actor.township_filter())
    stmt = (
        select(
            M.pool,
            func.count(M.id).filter(M.entered_date.between(start, as_of)),
            func.count(M.id).filter(M.left_date.between(start, as_of), M.leave_reason.in_(GRADUATED)),
            func.count(M.id).filter(M.left_date.between(start, as_of), M.leave_reason.not_in(GRADUATED)),
            func.count(M.id).filter(M.entered_date <= as_of, (M.left_date.is_(None)) | (M.left_date > as_of)),
        )
        .join(Enterprise, and_(Enterprise.id == M.enterprise_id, *seen))
        .group_by(M.pool)
    )
    got = {r[0]: r[1:] for r in session.execute(stmt)}
    return [
        PoolRow(code, p.name, *(int(x) for x in got.get(code, (0, 0, 0, 0))))
        for code, p in pool_store.pools(session, as_of).items()
    ]


def build(
    session: Session,
    *,
    actor: Principal,
    scope: str = "year",
    year: int | None = None,
    public: bool = False,
    today: date | None = None,
) -> Report:
    """The evaluation report; township staff get their township's figures (targets, awards, problems ...)."""
    actor.require("evaluation:read")
    today = today or date.today()
    start, end, as_of, title = period_of(scope, year, today)
    rep = Report(scope, year, start, end, as_of, public, title)
    for ts in _sets(session, scope, year, start, end):
        rep.matrices.append(
            (
                ts.key,
                target_service.progress_matrix(
                    session, actor=actor, key=ts.key, as_of=min(as_of, ts.period_end)
                ),
            )
        )
    past = as_of if as_of < today else None  # an ended period: as it stood on its last day
    rep.award_totals = (
        ledger_totals(session, actor=actor, filters=LineFilters(year=year), as_of=past)
        if scope == "year"
        else _plan_award_totals(session, actor, start, end, past)
    )
    rep.awards_by = _awards_by(session, actor, start, end, past)
    if actor.is_county and past is not None:  # funds are county-wide
        rep.funds = _funds_at(session, scope, year, start, end, past)
    elif actor.is_county:
        spent_all = spending_service.spending(session)
        spent_window = spending_service.spending(session, start=start, end=end)
        for b in fund_service.balances(session):
            zero = spending_service.Spending(b.fund.id, 0, 0)
            rep.funds.append(
                FundRow(
                    b.fund,
                    b.paid_yuan,
                    b.fund.drawn_yuan,
                    spent_all.get(b.fund.id, zero),
                    spent_window.get(b.fund.id, zero),
                )
            )
    rep.pools = _pools(session, actor, start, end, as_of)
    rep.problem_total = problems.stats(
        session, actor=actor, by="all", start=start, end=end, today=as_of, as_of=past
    )[0]
    rep.problems_by_category = problems.stats(
        session, actor=actor, by="category", start=start, end=end, today=as_of, as_of=past
    )
    rep.problems_by_township = problems.stats(
        session, actor=actor, by="township", start=start, end=end, today=as_of, as_of=past
    )
    rep.visit_counts = visits.visit_counts(session, actor=actor, start=start, end=end, today=as_of)
    rep.register_totals = registers.totals(session, actor=actor, start=start, end=end)
    if not public:
        rep.officers = visits.officer_board(session, actor=actor, today=as_of, as_of=past)
    return rep


def _plan_award_totals(
    session: Session, actor: Principal, start: date, end: date, as_of: date | None = None
) -> dict[str, int]:
    totals: dict[str, int] = {}
    for y in range(start.year, end.year + 1):
        for k, v in ledger_totals(session, actor=actor, filters=LineFilters(year=y), as_of=as_of).items():
            totals[k] = totals.get(k, 0) + v
    return totals


def indicator_rows(m: Matrix) -> list[IndicatorProgress]:
    return m.rows
