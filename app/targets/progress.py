"""Progress against a target table, read from the data: actual / target per township and county, with status.

Status of a count target (actual vs target, deadline, evaluated on `as_of`):

  met            actual >= target (a target of 0 is met)
  overdue        not met and as_of is after the deadline (the deadline day itself is still in time)
  behind         not met, the deadline is at most NEAR_DAYS (30) days away, and actual < BEHIND_SHARE (80%) of target
  on_track       not met otherwise: the deadline is more than 30 days away, or near but at least 80% done
  not_available  the measure needs data the system does not hold; shown with its reason, never as 0
  no_target      a county-only row (no township split): a township's actual is shown without a status

A rate target (研发投入月度增长率) is judged on the latest month whose filing deadline has passed
by `as_of` ("report month"): met when the growth of R&D spend reaches the rate, behind when it
does not, not_available without comparable filings. The growth is read as the indicator's
measure says (`reading`): year on year (enterprises that filed this month and the same month
last year) or month on month (both months); the other reading is shown beside it.

All actuals of a table come from a handful of SQL aggregates, each grouped by township:
ONE statement for every counted indicator — honour records, pool stays and the registry each
read once, joined to a small spec of what each indicator counts, GROUP BY indicator, township —
and ONE for the R&D growth; never a loop over enterprises in Python.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import (
    CTE,
    ColumnElement,
    Date,
    Select,
    String,
    and_,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.orm import Session

from app.accounts.permissions import Principal
from app.enterprises.models import Enterprise, Honour
from app.enterprises.visibility import visible_to
from app.errors import NotFound, ValidationFailed
from app.pagination import decode_cursor, encode_cursor
from app.pools.models import PoolMembership as M
from app.reference import LEVEL_NAMES, OUTCOME_NAMES, honours, township_names, townships
from app.reference.targets import rd_reading
from app.registers import measures as register_measures
from app.reports import service as filing_service
from app.targets.models import TargetIndicator, TargetSet

NEAR_DAYS = 30
BEHIND_SHARE = 0.8

STATUS_NAMES = {
    "met": "已完成",
    "on_track": "正常推进",
    "behind": "进度滞后",
    "overdue": "逾期未完成",
    "not_available": "数据尚未接入",
    "no_target": "无分解目标",
}
MEASURE_NAMES = {
    "honour_count": "认定记录计数",
    "pool_members": "培育库成员数",
    "platform_registrations": "政策通平台注册数",
    "rd_growth": "研发投入增长率（月度填报，按指标设定的同比或环比口径）",
    "cluster_count": "特色产业集群登记计数",
    "project_count": "项目登记计数",
    "voyage_listed": "助企远航名单企业数",
    **register_measures.MEASURE_NAMES,
    "not_available": "系统无此数据",
}
STATUS_RULES = (
    f"已完成：完成数 ≥ 目标数；逾期未完成：截止日已过仍未完成（截止日当天仍算按期）；"
    f"进度滞后：距截止日不超过 {NEAR_DAYS} 天且完成数不足目标的 {int(BEHIND_SHARE * 100)}%；"
    f"正常推进：其余未完成的情形。增长率指标按截止日已过的最近一个月判断：按指标设定的口径（同比或环比）增长达到目标为已完成，否则为进度滞后。"
)


def count_status(actual: float, target: float, deadline: date | None, as_of: date) -> str:
    """Status of a count target; see the module docstring for the boundaries."""
    if actual >= target:
        return "met"
    if deadline is None:
        return "on_track"
    days_left = (deadline - as_of).days
    if days_left < 0:
        return "overdue"
    if days_left <= NEAR_DAYS and actual < BEHIND_SHARE * target:
        return "behind"
    return "on_track"


def rate_status(actual: float | None, target: float) -> str:
    if actual is None:
        return "not_available"
    return "met" if actual >= target else "behind"


def num(v: Decimal | float | int | None) -> int | float | None:
    """A figure as printed: 3 not 3.00, 12.5 as is."""
    if v is None:
        return None
    f = float(v)
    return int(f) if f.is_integer() else f


# --- the measures as SQL ------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """The dates a measure reads: records dated in [start, end], pool membership on `at`."""

    start: date
    end: date
    at: date


def window(target_set: TargetSet, deadline: date | None, as_of: date) -> Window:
    end = min(target_set.period_end, as_of)
    return Window(target_set.period_start, end, min(deadline or target_set.period_end, as_of))


def unavailable_reason(measure: dict) -> str | None:
    kind = measure.get("kind")
    if kind == "not_available":
        return measure.get("reason") or "系统无此数据"
    return None


def _honour_conds(m: dict, w: Window) -> list[ColumnElement[bool]]:
    conds = [
        Honour.code.in_(m["honours"]),
        Honour.outcome.in_(m["outcomes"]),
        Honour.honour_date.between(w.start, w.end),
    ]
    if m.get("levels"):
        conds.append(Honour.level.in_(m["levels"]))
    return conds


def _cluster_conds(m: dict, w: Window) -> list[ColumnElement[bool]]:
    from app.clusters.models import IndustryCluster as C

    conds = [C.recognised_date.between(w.start, w.end)]
    if m.get("levels"):
        conds.append(C.level.in_(m["levels"]))
    return conds


def _pool_conds(m: dict, w: Window):
    return M, [M.pool == m["pool"], M.entered_date <= w.at, or_(M.left_date.is_(None), M.left_date > w.at)]


def _visible(stmt: Select, actor: Principal, township: str | None) -> Select:
    stmt = stmt.where(visible_to(actor))
    if township:
        stmt = stmt.where(Enterprise.township == township)
    return stmt


def _spec(name: str, rows: list[dict], types: dict) -> CTE:
    """A small table of literals (one row per indicator and code), as a CTE that PostgreSQL and SQLite both read."""
    selects = [
        select(
            *[(literal(r[c], t) if r[c] is not None else cast(null(), t)).label(c) for c, t in types.items()]
        )
        for r in rows
    ]
    return (selects[0] if len(selects) == 1 else union_all(*selects)).cte(name)


def count_statement(
    items: list[tuple[str, dict, Window]], actor: Principal, township: str | None = None
) -> Select | None:
    """ONE statement counting, for every (key, measure, window), the distinct enterprises per township.

    Each source table is read once, joined to a small spec of what each indicator counts —
    honour records to (key, code, level, outcome, dates), pool stays to (key, pool, date) — and
    the (key, enterprise) pairs meet the registry in one join: SELECT key, township,
    count(DISTINCT enterprise) … GROUP BY key, township. Platform registrations are one more
    GROUP BY over the registry.
    """
    honour_rows, pool_rows, platform, clusters, projects, voyage = [], [], [], [], [], []
    for key, m, w in items:
        if m["kind"] == "honour_count":
            for code in m["honours"]:
                for level in m.get("levels") or [None]:
                    for outcome in m["outcomes"]:
                        honour_rows.append(
                            {
                                "key": key,
                                "code": code,
                                "level": level,
                                "outcome": outcome,
                                "start": w.start,
                                "end": w.end,
                            }
                        )
        elif m["kind"] == "pool_members":
            pool_rows.append({"key": key, "pool": m["pool"], "at": w.at})
        elif m["kind"] == "platform_registrations":
            platform.append((key, w))
        elif m["kind"] == "cluster_count":
            clusters.append((key, m, w))
        elif m["kind"] == "project_count":
            projects.append((key, m, w))
        elif m["kind"] == "voyage_listed":
            voyage.append((key, w))
    pairs: list[Select] = []  # (key, enterprise_id) for every record an indicator counts
    parts: list[Select] = []
    for key, m, w in items:  # the registers (training, 数字化测评, projects): one small statement each
        if m["kind"] in register_measures.COUNTED:
            kind, stmt = register_measures.statement(key, m, w.start, w.end)
            (pairs if kind == "pairs" else parts).append(stmt)
    if honour_rows:
        spec = _spec(
            "honour_spec",
            honour_rows,
            {"key": String, "code": String, "level": String, "outcome": String, "start": Date, "end": Date},
        )
        pairs.append(
            select(spec.c.key.label("key"), Honour.enterprise_id.label("enterprise_id"))
            .select_from(Honour)
            .join(
                spec,
                and_(
                    Honour.code == spec.c.code,
                    Honour.outcome == spec.c.outcome,
                    or_(spec.c.level.is_(None), Honour.level == spec.c.level),
                    Honour.honour_date >= spec.c.start,
                    Honour.honour_date <= spec.c.end,
                ),
            )
            .where(
                Honour.honour_date.between(
                    min(r["start"] for r in honour_rows), max(r["end"] for r in honour_rows)
                )
            )
        )
    if pool_rows:
        spec = _spec("pool_spec", pool_rows, {"key": String, "pool": String, "at": Date})
        pairs.append(
            select(spec.c.key.label("key"), M.enterprise_id.label("enterprise_id"))
            .select_from(M)
            .join(
                spec,
                and_(
                    M.pool == spec.c.pool,
                    M.entered_date <= spec.c.at,
                    or_(M.left_date.is_(None), M.left_date > spec.c.at),
                ),
            )
            .where(M.pool.in_(sorted({r["pool"] for r in pool_rows})))
        )
    if pairs:
        counted = (pairs[0] if len(pairs) == 1 else union_all(*pairs)).subquery("counted")
        parts.append(
            select(
                counted.c.key,
                Enterprise.township,
                func.count(func.distinct(counted.c.enterprise_id)).label("n"),
            )
            .select_from(counted)
            .join(Enterprise, Enterprise.id == counted.c.enterprise_id)
            .group_by(counted.c.key, Enterprise.township)
        )
    for key, w in platform:
        parts.append(
            select(
                literal(key, String).label("key"), Enterprise.township, func.count(Enterprise.id).label("n")
            )
            .where(Enterprise.platform_registered_date.between(w.start, w.end))
            .group_by(Enterprise.township)
        )
    for key, m, w in clusters:  # clusters, not firms: each counted once, under its lead enterprise's township
        from app.clusters.models import IndustryCluster as C

        parts.append(
            select(
                literal(key, String).label("key"),
                Enterprise.township,
                func.count(func.distinct(C.id)).label("n"),
            )
            .select_from(C)
            .join(Enterprise, Enterprise.id == C.lead_enterprise_id)
            .where(*_cluster_conds(m, w))
            .group_by(Enterprise.township)
        )
    for key, m, w in projects:  # projects, not firms: a firm with two 技改 projects counts two
        from app.registers.models import Project as P

        parts.append(
            select(
                literal(key, String).label("key"),
                Enterprise.township,
                func.count(func.distinct(P.id)).label("n"),
            )
            .select_from(P)
            .join(Enterprise, Enterprise.id == P.enterprise_id)
            .where(
                P.kind == m["project_kind"],
                P.stage != "planned",
                P.start_date <= w.end,
                or_(P.completion_date.is_(None), P.completion_date >= w.start),
            )
            .group_by(Enterprise.township)
        )
    for key, w in voyage:
        from app.support.models import VoyageListing as V

        parts.append(
            select(
                literal(key, String).label("key"),
                Enterprise.township,
                func.count(func.distinct(V.enterprise_id)).label("n"),
            )
            .select_from(V)
            .join(Enterprise, Enterprise.id == V.enterprise_id)
            .where(V.listed_date <= w.end)
            .group_by(Enterprise.township)
        )
    parts = [_visible(p, actor, township) for p in parts]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else union_all(*parts)


def counts(session: Session, stmt: Select | None) -> dict[tuple[str, str], int]:
    """{(key, township): n} from the count statement."""
    if stmt is None:
        return {}
    return {(k, t): int(n) for k, t, n in session.execute(stmt)}


# --- the matrix -----------------------------------------------------------------------------------


@dataclass
class Cell:
    actual: int | float | None
    target: int | float | None
    status: str

    @property
    def ratio(self) -> float | None:
        if self.actual is None or not self.target:
            return None
        return self.actual / self.target

    @property
    def percent(self) -> int | None:
        r = self.ratio
        return None if r is None else int(round(r * 100))


@dataclass
class PartProgress:
    code: str
    name: str
    cell: Cell


@dataclass
class IndicatorProgress:
    indicator: TargetIndicator
    townships: dict[str, Cell]
    county: Cell | None  # None for township staff
    reason: str | None = None  # why the measure cannot be computed
    parts: list[PartProgress] = field(default_factory=list)
    report_period: int | None = None  # rate rows: the month judged
    reading: str | None = None  # rate rows: year_on_year | month_on_month, the reading judged by
    other: dict[str, float | None] = field(default_factory=dict)  # rate rows: the other reading, by township
    other_county: float | None = None

    @property
    def available(self) -> bool:
        return self.reason is None

    @property
    def measure_kind(self) -> str:
        return self.indicator.measure.get("kind", "")

    @property
    def report_month(self) -> str | None:
        return filing_service.month_label(self.report_period) if self.report_period is not None else None


@dataclass
class Matrix:
    target_set: TargetSet
    as_of: date
    townships: list[dict]  # visible townships, in the attachment's order
    rows: list[IndicatorProgress]

    def status_counts(self, township: str | None = None) -> dict[str, int]:
        out = dict.fromkeys(STATUS_NAMES, 0)
        for r in self.rows:
            cell = r.townships.get(township) if township else r.county
            if cell is not None:
                out[cell.status] += 1
        return out

    def township_completion(self) -> dict[str, int | None]:
        """Per township: mean completion (%, each indicator capped at 100%) over its split count targets."""
        out: dict[str, int | None] = {}
        for t in self.townships:
            ratios = [
                min(1.0, c.ratio)
                for r in self.rows
                if r.available and r.indicator.kind == "count" and not r.indicator.county_only
                for c in [r.townships.get(t["code"])]
                if c is not None and c.ratio is not None
            ]
            out[t["code"]] = int(round(100 * sum(ratios) / len(ratios))) if ratios else None
        return out


def _figures(ind: TargetIndicator) -> dict[str, float]:
    return {f.township: num(f.value) for f in ind.figures}


def compute(
    session: Session,
    *,
    actor: Principal,
    target_set: TargetSet,
    as_of: date,
    indicators: list[TargetIndicator] | None = None,
) -> Matrix:
    """Every indicator's actual and status, per visible township and for the county: a handful of queries."""
    actor.require("targets:read")
    inds = target_set.indicators if indicators is None else indicators
    towns = [t for t in townships() if actor.sees_township(t["code"])]
    items = []
    for ind in inds:
        w = window(target_set, ind.deadline, as_of)
        items.append((ind.code, ind.measure, w))
        items += [(f"{ind.code}.{part['code']}", part["measure"], w) for part in ind.parts or []]
    got = counts(session, count_statement(items, actor))
    growth = (
        _rd_growth(session, actor, target_set, as_of)
        if any(i.measure.get("kind") == "rd_growth" for i in inds)
        else None
    )

    rows = []
    for ind in inds:
        rows.append(_indicator_progress(ind, towns, got, growth, actor, as_of))
    return Matrix(target_set, as_of, towns, rows)


def _rd_growth(session: Session, actor: Principal, target_set: TargetSet, as_of: date):
    """(report period, {township: growth %}, county growth %), or (None, {}, None) before any month is due."""
    p = filing_service.report_period(
        session, min(as_of, filing_service.deadline(session, _last_period(target_set)))
    )
    first = filing_service.period_of(target_set.period_start.year, target_set.period_start.month)
    if p < first:
        return None, {}, None
    by_town, county = filing_service.township_growth(session, actor=actor, period=p)
    return (
        p,
        {t: {"month_on_month": g.rd_mom_pct, "year_on_year": g.rd_yoy_pct} for t, g in by_town.items()},
        {"month_on_month": county.rd_mom_pct, "year_on_year": county.rd_yoy_pct},
    )


def _last_period(target_set: TargetSet) -> int:
    return filing_service.period_of(target_set.period_end.year, target_set.period_end.month)


def _indicator_progress(ind, towns, got, growth, actor: Principal, as_of: date) -> IndicatorProgress:
    reason = unavailable_reason(ind.measure)
    figures = _figures(ind)
    total = num(ind.total)
    if reason is not None:
        return IndicatorProgress(
            ind,
            {t["code"]: Cell(None, figures.get(t["code"]), "not_available") for t in towns},
            Cell(None, total, "not_available") if actor.is_county else None,
            reason=reason,
        )
    if ind.measure["kind"] == "rd_growth":
        period, by_town_both, county_both = growth or (None, {}, None)
        reading = rd_reading(ind.measure)
        other_reading = "month_on_month" if reading == "year_on_year" else "year_on_year"
        by_town = {t: v.get(reading) for t, v in by_town_both.items()}
        county_rate = (county_both or {}).get(reading)
        if period is None:
            why = "尚无到期的月度填报"
            return IndicatorProgress(
                ind,
                {t["code"]: Cell(None, figures.get(t["code"]), "not_available") for t in towns},
                Cell(None, total, "not_available") if actor.is_county else None,
                reason=why,
            )
        cells = {}
        for t in towns:
            rate = by_town.get(t["code"])
            target = figures.get(t["code"], total)
            cells[t["code"]] = Cell(_round(rate), target, rate_status(rate, target))
        county = (
            Cell(_round(county_rate), total, rate_status(county_rate, total)) if actor.is_county else None
        )
        why = None
        if all(c.actual is None for c in [*cells.values(), *([county] if county else [])]):
            need = "上年同月和本月都填报" if reading == "year_on_year" else "连续两个月填报"
            why = f"{filing_service.month_label(period)}尚无可比的填报数据（须{need}）"
        return IndicatorProgress(
            ind,
            cells,
            county,
            reason=why,
            report_period=period,
            reading=reading,
            other={t["code"]: _round(by_town_both.get(t["code"], {}).get(other_reading)) for t in towns},
            other_county=_round((county_both or {}).get(other_reading)) if actor.is_county else None,
        )

    cells = {}
    for t in towns:
        actual = got.get((ind.code, t["code"]), 0)
        if ind.county_only:
            cells[t["code"]] = Cell(actual, None, "no_target")
        else:
            target = figures.get(t["code"], 0)
            cells[t["code"]] = Cell(actual, target, count_status(actual, target, ind.deadline, as_of))
    county = None
    if actor.is_county:
        actual = sum(n for (k, _), n in got.items() if k == ind.code)
        county = Cell(actual, total, count_status(actual, total, ind.deadline, as_of))
    parts = []
    for part in ind.parts or []:
        key = f"{ind.code}.{part['code']}"
        actual = sum(n for (k, _), n in got.items() if k == key)
        parts.append(
            PartProgress(
                part["code"],
                part["name"],
                Cell(actual, part["total"], count_status(actual, part["total"], ind.deadline, as_of)),
            )
        )
    return IndicatorProgress(ind, cells, county, parts=parts)


def _round(v: float | None) -> float | None:
    return None if v is None else round(float(v), 1)


# --- what a measure says, in Chinese -------------------------------------------------------------


def describe_measure(m: dict, target_set: TargetSet, deadline: date | None) -> str:
    """The measure as a sentence a township officer can check against the data."""
    kind = m.get("kind")
    specs = honours()
    if kind == "honour_count":
        names = "、".join(specs[h]["name"] if h in specs else h for h in m["honours"])
        levels = "、".join(LEVEL_NAMES.get(lv, lv) for lv in m.get("levels") or []) or "任意级别"
        outcomes = "、".join(OUTCOME_NAMES.get(o, o) for o in m["outcomes"])
        span = f"{target_set.period_start.isoformat()} 至 {target_set.period_end.isoformat()}"
        return f"在 {span} 期间有“{names}”（{levels}）认定记录、结果为{outcomes}的企业数（每家企业计一次）"
    if kind == "pool_members":
        from app.pools.definitions import load_pools

        pool = load_pools().get(m["pool"])
        name = pool.name if pool else m["pool"]
        at = (deadline or target_set.period_end).isoformat()
        return f"截止日（{at}）在“{name}”中的企业数；截止日前按评估日统计"
    if kind == "platform_registrations":
        return f"{target_set.period_start.isoformat()} 至 {target_set.period_end.isoformat()} 期间注册“聊城企业政策通”平台的企业数（企业登记中的注册日期）"
    if kind == "rd_growth":
        if rd_reading(m) == "year_on_year":
            return (
                "研发投入同比增长率（按本指标设定的同比口径判断，环比一并列出）：截止日已过的最近一个月，"
                "本月和上年同月都已填报的企业研发投入合计，与上年同月相比"
            )
        return (
            "研发投入环比增长率（按本指标设定的环比口径判断，同比一并列出）：截止日已过的最近一个月，"
            "两个月都已填报的企业研发投入合计，与上月相比"
        )
    if kind == "project_count":
        what = {"tech_upgrade": "技改项目", "key_chain": "强链延链补链重点项目"}[m["project_kind"]]
        span = f"{target_set.period_start.isoformat()} 至 {target_set.period_end.isoformat()}"
        return f"项目登记中在 {span} 期间实施（已开工、未在期初前竣工）的{what}数（每个项目计一次）"
    if kind == "voyage_listed":
        return "助企远航名单中的企业数（按列入名单日期，截至评估日）"
    if kind == "cluster_count":
        levels = "、".join(LEVEL_NAMES.get(lv, lv) for lv in m.get("levels") or []) or "任意级别"
        span = f"{target_set.period_start.isoformat()} 至 {target_set.period_end.isoformat()}"
        return f"在 {span} 期间评选认定的特色产业集群数（{levels}；每个集群计一次，按牵头企业所在乡镇归属）"
    if kind in register_measures.KINDS:
        return register_measures.describe(m, target_set.period_start, target_set.period_end)
    return m.get("reason") or "系统无此数据"


# --- the enterprises behind a cell -----------------------------------------------------------------


@dataclass
class CellRow:
    enterprise_id: int
    name: str
    uscc: str
    township: str
    basis: str  # what was counted, in Chinese


@dataclass
class CellPage:
    rows: list[CellRow]
    total: int  # enterprises counted in the cell
    reason: str | None = None  # why the measure cannot be computed
    next_cursor: str | None = None


def cell_rows(
    session: Session,
    *,
    actor: Principal,
    target_set: TargetSet,
    ind: TargetIndicator,
    township: str | None,
    as_of: date,
    part: str | None = None,
    cursor: str | None = None,
    limit: int = 500,
) -> CellPage:
    """The enterprises counted in one cell (township None: the county), a keyset page by name, each with
    what was counted (its honour records, its stay in the pool, its registration, its filing)."""
    actor.require("targets:read")
    if not 1 <= limit <= 2000:
        raise ValidationFailed.one("limit", "每页条数须在 1–2000 之间")
    if township is not None and township not in township_names():
        raise NotFound(f"未知的乡镇“{township}”")
    if township is not None and not actor.sees_township(township):
        raise NotFound("未找到该乡镇的数据")
    if township is None and not actor.is_county:
        township = actor.township_filter()
    m = ind.measure
    if part is not None:
        spec = next((p for p in ind.parts or [] if p["code"] == part), None)
        if spec is None:
            raise NotFound(f"指标“{ind.name}”没有分项“{part}”")
        m = spec["measure"]
    reason = unavailable_reason(m)
    if reason is not None:
        return CellPage([], 0, reason)
    w = window(target_set, ind.deadline, as_of)
    kind = m["kind"]
    if kind == "rd_growth":
        return _rd_rows(session, actor, target_set, township, as_of, cursor, limit)
    if kind == "honour_count":
        counted = Enterprise.id.in_(select(Honour.enterprise_id).where(*_honour_conds(m, w)))
    elif kind == "pool_members":
        M, conds = _pool_conds(m, w)
        counted = Enterprise.id.in_(select(M.enterprise_id).where(*conds))
    elif kind == "platform_registrations":
        counted = Enterprise.platform_registered_date.between(w.start, w.end)
    elif kind == "cluster_count":
        from app.clusters.models import IndustryCluster as C

        counted = Enterprise.id.in_(select(C.lead_enterprise_id).where(*_cluster_conds(m, w)))
    elif kind in register_measures.KINDS:
        counted = Enterprise.id.in_(register_measures.enterprises(m, w.start, w.end))
    else:
        raise ValidationFailed.one("measure", f"未知的统计口径“{kind}”")
    total = session.scalar(_visible(select(func.count(Enterprise.id)).where(counted), actor, township)) or 0
    stmt = _visible(
        select(
            Enterprise.id,
            Enterprise.name,
            Enterprise.uscc,
            Enterprise.township,
            Enterprise.platform_registered_date,
        ).where(counted),
        actor,
        township,
    )
    if cursor:
        name, last_id = decode_cursor(cursor, "name")
        stmt = stmt.where(tuple_(Enterprise.name, Enterprise.id) > tuple_(name, last_id))
    page = session.execute(stmt.order_by(Enterprise.name, Enterprise.id).limit(limit + 1)).all()
    more = len(page) > limit
    page = page[:limit]
    bases = _bases(session, kind, m, w, [r[0] for r in page])
    rows = [
        CellRow(r[0], r[1], r[2], r[3], bases.get(r[0]) or (f"{r[4].isoformat()} 注册" if r[4] else ""))
        for r in page
    ]
    return CellPage(
        rows,
        int(total),
        None,
        encode_cursor("name", rows[-1].name, rows[-1].enterprise_id) if more and rows else None,
    )


def _bases(session: Session, kind: str, m: dict, w: Window, ids: list[int]) -> dict[int, str]:
    """What was counted for each enterprise of a page: one query for the page."""
    if not ids or kind == "platform_registrations":
        return {}
    if kind in register_measures.KINDS:
        return register_measures.bases(session, m, w.start, w.end, ids)
    out: dict[int, list[str]] = {}
    if kind == "cluster_count":
        from app.clusters.models import IndustryCluster as C

        stmt = (
            select(C.lead_enterprise_id, C.name, C.level, C.recognised_date)
            .where(*_cluster_conds(m, w), C.lead_enterprise_id.in_(ids))
            .order_by(C.recognised_date)
        )
        for eid, name, level, when in session.execute(stmt):
            out.setdefault(eid, []).append(
                f"牵头{LEVEL_NAMES.get(level, level)}特色产业集群“{name}”（{when.isoformat()}）"
            )
    elif kind == "honour_count":
        specs = honours()
        stmt = (
            select(Honour.enterprise_id, Honour.code, Honour.level, Honour.outcome, Honour.honour_date)
            .where(*_honour_conds(m, w), Honour.enterprise_id.in_(ids))
            .order_by(Honour.honour_date)
        )
        for eid, code, level, outcome, when in session.execute(stmt):
            out.setdefault(eid, []).append(
                f"{specs.get(code, {}).get('name', code)}（{LEVEL_NAMES.get(level, level)}，{OUTCOME_NAMES.get(outcome, outcome)}，{when.isoformat()}）"
            )
    else:
        M, conds = _pool_conds(m, w)
        stmt = (
            select(M.enterprise_id, M.entered_date, M.left_date)
            .where(*conds, M.enterprise_id.in_(ids))
            .order_by(M.entered_date)
        )
        for eid, entered, left in session.execute(stmt):
            out.setdefault(eid, []).append(
                f"{entered.isoformat()} 入库" + (f"，{left.isoformat()} 出库" if left else "")
            )
    return {eid: "；".join(v) for eid, v in out.items()}


def _rd_rows(session, actor, target_set, township, as_of, cursor, limit) -> CellPage:
    period = filing_service.report_period(
        session, min(as_of, filing_service.deadline(session, _last_period(target_set)))
    )
    if period < filing_service.period_of(target_set.period_start.year, target_set.period_start.month):
        return CellPage([], 0, "尚无到期的月度填报")
    rows, next_cursor, total = filing_service.list_filings(
        session, actor=actor, period=period, township=township, cursor=cursor, limit=min(limit, 1000)
    )
    out = []
    for r in rows:
        yoy = "上年同月未填报" if r.rd_yoy_pct is None else f"同比 {r.rd_yoy_pct:+.1f}%"
        mom = "上月未填报" if r.rd_mom_pct is None else f"环比 {r.rd_mom_pct:+.1f}%"
        growth = f"{yoy}，{mom}"
        out.append(
            CellRow(
                r.filing.enterprise_id,
                r.name,
                r.uscc,
                r.township,
                f"{filing_service.month_label(period)}研发投入 {r.filing.rd_spend_yuan:,} 元，{growth}",
            )
        )
    return CellPage(out, total, None, next_cursor)


# --- county goals of the document's body (not rows of the attachment) ----------------------------


@dataclass
class CountyGoalProgress:
    code: str
    name: str
    clause: str
    text: str
    unit: str
    cell: Cell
    measure: str  # what is counted, or why nothing is
    reason: str | None = None  # "not measured" and why


def county_goals(
    session: Session, *, actor: Principal, target_set: TargetSet, as_of: date
) -> list[CountyGoalProgress]:
    """The county-wide figures of the table's document (冠政办发〔2023〕7号 一、二) with their measure,
    or "not measured" with the reason. Empty for other tables and for township staff."""
    from app.reference.targets import load_targets_2023

    table = load_targets_2023()
    if not actor.is_county or target_set.key != str(table.year) or not table.county_goals:
        return []
    w = window(target_set, target_set.period_end, as_of)
    measures = {g.code: g.measure.model_dump(exclude_none=True) for g in table.county_goals}
    got = counts(
        session,
        count_statement(
            [(code, m, w) for code, m in measures.items() if unavailable_reason(m) is None], actor
        ),
    )
    out = []
    for g in table.county_goals:
        m = measures[g.code]
        reason = unavailable_reason(m)
        total = num(g.total)
        if reason is not None:
            cell = Cell(None, total, "not_available")
        else:
            actual = sum(n for (k, _), n in got.items() if k == g.code)
            cell = Cell(actual, total, count_status(actual, total, target_set.period_end, as_of))
        out.append(
            CountyGoalProgress(
                g.code,
                g.name,
                g.clause,
                g.text,
                g.unit,
                cell,
                describe_measure(m, target_set, target_set.period_end) if reason is None else "未统计",
                reason,
            )
        )
    return out
