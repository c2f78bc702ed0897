"""Cultivation pools (培育库): who is in which pool since when, candidates, yearly review, graduation, 亩产效益.

Pool definitions are data (definitions.yaml); criteria are evaluated purely (criteria.py) for one
firm and in SQL (sql.py) for lists. Every change is audited with the enterprise and township so it
appears in the enterprise's history; nothing here commits.
"""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from pydantic import ValidationError
from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, selectinload

from app.accounts.permissions import Principal
from app.audit import service as audit
from app.audit.models import AuditEntry
from app.db import utcnow
from app.enterprises.models import FIGURE_FIELDS, Enterprise, EnterpriseFigure, Honour
from app.enterprises.uscc import normalise, uscc_error
from app.errors import AppError, Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from app.pagination import decode_cursor, encode_cursor
from app.pools import sql as pool_sql
from app.pools.criteria import (
    Candidacy,
    CriterionResult,
    FirmFacts,
    HonourFact,
    Status,
    YearFigures,
    class_candidacy,
    combine_candidacy,
    entry_rule_status,
    evaluate_entry_class,
    needs_judgement,
)
from app.pools.definitions import (
    AboveScaleGoal,
    EntryClass,
    HonourGoal,
    MuScheme,
    PoolDefinition,
    load_mu_scheme,
    load_pools,
)
from app.pools.models import (
    LEAVE_REASONS,
    MuClassRecord,
    MuProvisional,
    MuSchemeSetting,
    PoolGraduation,
    PoolMembership,
    PoolReview,
)
from app.pools.mu_scheme import MuFirm, classify
from app.pools.schemas import (
    EnterIn,
    GraduationConfirm,
    LeaveIn,
    MuSchemeIn,
    ReviewConfirm,
)
from app.reference import MU_CLASSES, township_names

M = PoolMembership
MU_SOURCE_NAMES = {"entered": "录入", "imported": "导入", "provisional": "暂定（按数据测算）", "registry": "企业登记"}
CANDIDACY_LABELS = {"met": "符合", "judgement": "待人工判断", "missing": "数据不全", "failed": "不符合"}


class PoolNotFound(NotFound):
    def __init__(self, code: str):
        super().__init__(f"未知的培育库“{code}”")
        self.errors = [FieldError("pool", f"未知的培育库“{code}”（可选：{'、'.join(load_pools())}）")]


# --- definitions -----------------------------------------------------------------------------


def get_pool_def(code: str) -> PoolDefinition:
    pool_def = load_pools().get(code)
    if pool_def is None:
        raise PoolNotFound(code)
    return pool_def


def _entry_class(pool_def: PoolDefinition, code: str | None, field: str = "entry_class") -> EntryClass | None:
    if code is None:
        return None
    try:
        return pool_def.entry_class(code)
    except KeyError:
        options = "、".join(f"{e.code}（{e.name}）" for e in pool_def.entry_classes)
        raise ValidationFailed.one(field, f"“{pool_def.name}”没有入库类别“{code}”（可选：{options}）") from None


def class_name(pool_code: str, entry_code: str) -> str | None:
    pool_def = load_pools().get(pool_code)
    if pool_def is None:
        return None
    return next((e.name for e in pool_def.entry_classes if e.code == entry_code), None)


def member_clause(pool_code: str, enterprise_id) -> ColumnElement[bool]:
    """SQL: the enterprise is a current member of the pool (used by the registry's `pool` filter)."""
    if pool_code not in load_pools():
        raise ValidationFailed.one("pool", f"未知的培育库“{pool_code}”")
    return exists().where(M.enterprise_id == enterprise_id, M.pool == pool_code, M.left_date.is_(None))


# --- facts -----------------------------------------------------------------------------------


def _plain(v):
    return float(v) if v is not None and not isinstance(v, int) else v


def facts_for(ent: Enterprise) -> FirmFacts:
    """The criteria's view of one enterprise (figures and honours must be loaded)."""
    return FirmFacts(
        above_scale=ent.above_scale,
        size=ent.size,
        industry=ent.industry,
        chain=ent.chain,
        township=ent.township,
        figures={f.year: YearFigures(**{k: _plain(getattr(f, k)) for k in FIGURE_FIELDS}) for f in ent.figures},
        honours=[HonourFact(code=h.code, level=h.level, outcome=h.outcome, date=h.honour_date) for h in ent.honours],
        mu_class=ent.mu_class,
    )


def criterion_dict(r: CriterionResult) -> dict:
    return {
        "kind": r.kind,
        "status": r.status.value,
        "explanation": r.explanation,
        "basis": r.basis,
        "needs_judgement": needs_judgement(r),
        "children": [criterion_dict(c) for c in r.children],
    }


def latest_figures_year(session: Session) -> int | None:
    return session.scalar(select(func.max(EnterpriseFigure.year)))


def resolve_year(session: Session, year: int | None) -> int:
    """The figures year a list is judged on: the one asked for, which must have figures, else the latest."""
    if year is None:
        latest = latest_figures_year(session)
        if latest is None:
            raise ValidationFailed.one("year", "还没有任何企业的年度数据，无法按年度判断入库条件")
        return latest
    if session.scalar(select(EnterpriseFigure.id).where(EnterpriseFigure.year == year).limit(1)) is None:
        raise ValidationFailed.one("year", f"{year} 年没有任何企业的年度数据，请先录入或导入该年度数据")
    return year


def _enterprise(
    session: Session, actor: Principal, enterprise_id: int, *, details: bool = True, allow_deleted: bool = False
) -> Enterprise:
    stmt = select(Enterprise).where(Enterprise.id == enterprise_id)
    if not allow_deleted:
        stmt = stmt.where(Enterprise.deleted_at.is_(None))
    if actor.township_filter():
        stmt = stmt.where(Enterprise.township == actor.township_filter())
    if details:
        stmt = stmt.options(selectinload(Enterprise.figures), selectinload(Enterprise.honours))
    ent = session.scalar(stmt)
    if ent is None:
        raise NotFound("未找到该企业")
    return ent


def _scope(stmt: Select, actor: Principal) -> Select:
    if actor.township_filter():
        stmt = stmt.where(Enterprise.township == actor.township_filter())
    return stmt


# --- filters shared by members and candidates -------------------------------------------------


@dataclass
class PoolFilters:
    year: int | None = None
    township: list[str] | None = None
    mu_class: list[str] | None = None
    entry_class: str | None = None
    candidacy: list[str] | None = None
    q: str | None = None


class MuJoin:
    """The year's 亩产效益 class: recorded (entered/imported) wins, then provisional, then the registry's."""

    def __init__(self, year: int, name: str = "mu"):
        self.rec = aliased(MuClassRecord, name=f"{name}_rec")
        self.prov = aliased(MuProvisional, name=f"{name}_prov")
        self.year = year
        self.cls = func.coalesce(self.rec.mu_class, self.prov.mu_class, Enterprise.mu_class)
        self.source = case(
            (self.rec.mu_class.is_not(None), self.rec.source),
            (self.prov.mu_class.is_not(None), literal("provisional")),
            (Enterprise.mu_class.is_not(None), literal("registry")),
            else_=None,
        )

    def join(self, stmt: Select) -> Select:
        return stmt.outerjoin(
            self.rec, and_(self.rec.enterprise_id == Enterprise.id, self.rec.year == self.year)
        ).outerjoin(self.prov, and_(self.prov.enterprise_id == Enterprise.id, self.prov.year == self.year))


def _escape_like(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _check_filters(f: PoolFilters) -> None:
    errors = []
    for t in f.township or []:
        if t not in township_names():
            errors.append(FieldError("township", f"未知的乡镇代码“{t}”"))
    for c in f.mu_class or []:
        if c not in MU_CLASSES:
            errors.append(FieldError("mu_class", f"亩产效益类别“{c}”无效，应为 A、B、C、D 之一"))
    for c in f.candidacy or []:
        if c not in CANDIDACY_LABELS:
            errors.append(FieldError("candidacy", f"判断结果“{c}”无效，应为 {', '.join(CANDIDACY_LABELS)} 之一"))
    if errors:
        raise ValidationFailed(errors)


def _common_filters(stmt: Select, actor: Principal, f: PoolFilters, mu: MuJoin) -> Select:
    stmt = _scope(stmt, actor)
    if f.township:
        stmt = stmt.where(Enterprise.township.in_(f.township))
    if f.mu_class:
        stmt = stmt.where(mu.cls.in_(f.mu_class))
    if f.q and f.q.strip():
        q = f.q.strip()
        stmt = stmt.where(
            or_(
                Enterprise.name.ilike(f"%{_escape_like(q)}%", escape="\\"),
                Enterprise.uscc.like(f"%{_escape_like(q.upper())}%", escape="\\"),
            )
        )
    return stmt


def _page(session: Session, stmt: Select, name_col, id_col, cursor: str | None, limit: int, sort: str):
    """Keyset page over (name, id)."""
    if not 1 <= limit <= 500:
        raise ValidationFailed.one("limit", "每页条数须在 1–500 之间")
    if cursor:
        k, last_id = decode_cursor(cursor, sort)
        stmt = stmt.where(tuple_(name_col, id_col) > tuple_(k, last_id))
    rows = session.execute(stmt.order_by(name_col, id_col).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, more


# --- overview --------------------------------------------------------------------------------


def member_counts(session: Session, *, actor: Principal) -> dict[str, dict[str, int]]:
    """Current members per pool and township, in ONE query: {pool: {township: n}}."""
    actor.require("pools:read")
    stmt = (
        select(M.pool, Enterprise.township, func.count())
        .join(Enterprise, Enterprise.id == M.enterprise_id)
        .where(M.left_date.is_(None), Enterprise.deleted_at.is_(None))
        .group_by(M.pool, Enterprise.township)
    )
    out: dict[str, dict[str, int]] = {}
    for pool, township, n in session.execute(_scope(stmt, actor)):
        out.setdefault(pool, {})[township] = n
    return out


def pending_graduation_counts(session: Session, *, actor: Principal) -> dict[str, int]:
    stmt = (
        select(PoolGraduation.pool, func.count())
        .join(Enterprise, Enterprise.id == PoolGraduation.enterprise_id)
        .where(PoolGraduation.status == "pending", Enterprise.deleted_at.is_(None))
        .group_by(PoolGraduation.pool)
    )
    return dict(session.execute(_scope(stmt, actor)).all())


@dataclass
class PoolOverview:
    pool_def: PoolDefinition
    by_township: dict[str, int]
    pending_graduations: int

    @property
    def member_count(self) -> int:
        return sum(self.by_township.values())


def overview(session: Session, *, actor: Principal) -> list[PoolOverview]:
    counts = member_counts(session, actor=actor)
    pending = pending_graduation_counts(session, actor=actor)
    return [PoolOverview(p, counts.get(code, {}), pending.get(code, 0)) for code, p in load_pools().items()]


def overview_page(
    session: Session, *, actor: Principal, cursor: str | None = None, limit: int = 50
) -> tuple[list[PoolOverview], str | None]:
    """The pools in definitions.yaml's order, paginated like every list (all fit on one page today)."""
    if not 1 <= limit <= 500:
        raise ValidationFailed.one("limit", "每页条数须在 1–500 之间")
    rows = overview(session, actor=actor)
    start = 0
    if cursor:
        _, last = decode_cursor(cursor, "pools")
        start = last + 1
    page = rows[start : start + limit]
    more = start + limit < len(rows)
    return page, encode_cursor("pools", page[-1].pool_def.code, start + len(page) - 1) if more and page else None


# --- members ---------------------------------------------------------------------------------


@dataclass
class MemberRowData:
    membership: PoolMembership
    enterprise: Enterprise
    candidacy: str
    mu_class: str | None
    mu_source: str | None
    revenue_yuan: int | None
    main_revenue_yuan: int | None


def _members_stmt(actor: Principal, pool_def: PoolDefinition, f: PoolFilters, year: int, include_left: bool):
    psql = pool_sql.PoolSql(pool_def, year)
    mu = MuJoin(year)
    shown = aliased(EnterpriseFigure, name="shown_fig")
    stmt = select(
        M, Enterprise, psql.class_candidacy_of(M.entry_class).label("candidacy"), mu.cls, mu.source,
        shown.revenue_yuan, shown.main_revenue_yuan,
    ).select_from(M).join(Enterprise, Enterprise.id == M.enterprise_id)
    stmt = psql.join(stmt)
    stmt = mu.join(stmt).outerjoin(shown, and_(shown.enterprise_id == Enterprise.id, shown.year == year))
    stmt = stmt.where(M.pool == pool_def.code, Enterprise.deleted_at.is_(None))
    if not include_left:
        stmt = stmt.where(M.left_date.is_(None))
    if f.entry_class:
        _entry_class(pool_def, f.entry_class)
        stmt = stmt.where(M.entry_class == f.entry_class)
    if f.candidacy:
        stmt = stmt.where(psql.class_candidacy_of(M.entry_class).in_(f.candidacy))
    return _common_filters(stmt, actor, f, mu)


def members_page(
    session: Session,
    *,
    actor: Principal,
    pool_code: str,
    filters: PoolFilters,
    include_left: bool = False,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[MemberRowData], str | None, int]:
    actor.require("pools:read")
    pool_def = get_pool_def(pool_code)
    _check_filters(filters)
    year = resolve_year(session, filters.year)
    stmt = _members_stmt(actor, pool_def, filters, year, include_left)
    sort = "members"
    rows, more = _page(session, stmt, Enterprise.name, M.id, cursor, limit, sort)
    items = [MemberRowData(*r) for r in rows]
    next_cursor = encode_cursor(sort, items[-1].enterprise.name, items[-1].membership.id) if more and items else None
    return items, next_cursor, year


def all_members(session: Session, *, actor: Principal, pool_code: str, filters: PoolFilters, include_left: bool = False):
    """Every matching member (for the .xlsx export), in name order."""
    actor.require("pools:read")
    pool_def = get_pool_def(pool_code)
    _check_filters(filters)
    year = resolve_year(session, filters.year)
    stmt = _members_stmt(actor, pool_def, filters, year, include_left).order_by(Enterprise.name, M.id)
    return [MemberRowData(*r) for r in session.execute(stmt)], year


# --- candidates ------------------------------------------------------------------------------


@dataclass
class CandidateRowData:
    enterprise: Enterprise
    candidacy: str
    classes: dict[str, str]
    mu_class: str | None
    mu_source: str | None
    revenue_yuan: int | None
    main_revenue_yuan: int | None


def _candidates_where(actor: Principal, pool_def: PoolDefinition, psql: pool_sql.PoolSql, f: PoolFilters, mu: MuJoin):
    conds = [
        Enterprise.deleted_at.is_(None),
        ~member_clause(pool_def.code, Enterprise.id),
        psql.candidate,
    ]
    if f.entry_class:
        _entry_class(pool_def, f.entry_class)
        conds.append(next(k for k in psql.classes if k.code == f.entry_class).candidate)
    wanted = set(f.candidacy or [])
    if wanted - {"met", "judgement"}:
        raise ValidationFailed.one("candidacy", "候选企业只分“met 符合”和“judgement 待人工判断”两类")
    if wanted == {"met"}:
        conds.append(psql.met)
    elif wanted == {"judgement"}:
        conds.append(psql.judgement)
    return conds


def candidates_page(
    session: Session,
    *,
    actor: Principal,
    pool_code: str,
    filters: PoolFilters,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[CandidateRowData], str | None, int]:
    """Firms meeting the pool's checkable criteria for the year and not in it — computed in SQL."""
    actor.require("pools:read")
    pool_def = get_pool_def(pool_code)
    _check_filters(filters)
    year = resolve_year(session, filters.year)
    stmt = _candidates_stmt(actor, pool_def, filters, year)
    sort = "candidates"
    rows, more = _page(session, stmt, Enterprise.name, Enterprise.id, cursor, limit, sort)
    items = [_candidate_row(pool_def, r) for r in rows]
    next_cursor = encode_cursor(sort, items[-1].enterprise.name, items[-1].enterprise.id) if more and items else None
    return items, next_cursor, year


def _candidates_stmt(actor: Principal, pool_def: PoolDefinition, f: PoolFilters, year: int) -> Select:
    psql = pool_sql.PoolSql(pool_def, year)
    mu = MuJoin(year)
    shown = aliased(EnterpriseFigure, name="shown_fig")
    stmt = select(
        Enterprise,
        case((psql.met, "met"), else_="judgement").label("candidacy"),
        *[k.candidacy.label(f"class_{i}") for i, k in enumerate(psql.classes)],
        mu.cls,
        mu.source,
        shown.revenue_yuan,
        shown.main_revenue_yuan,
    ).select_from(Enterprise)
    stmt = mu.join(psql.join(stmt)).outerjoin(shown, and_(shown.enterprise_id == Enterprise.id, shown.year == year))
    stmt = stmt.where(*_candidates_where(actor, pool_def, psql, f, mu))
    return _common_filters(stmt, actor, f, mu)


def _candidate_row(pool_def: PoolDefinition, r) -> CandidateRowData:
    n = len(pool_def.entry_classes)
    ent, cand = r[0], r[1]
    classes = {e.code: r[2 + i] for i, e in enumerate(pool_def.entry_classes)}
    return CandidateRowData(ent, cand, classes, r[2 + n], r[3 + n], r[4 + n], r[5 + n])


def all_candidates(session: Session, *, actor: Principal, pool_code: str, filters: PoolFilters):
    actor.require("pools:read")
    pool_def = get_pool_def(pool_code)
    _check_filters(filters)
    year = resolve_year(session, filters.year)
    stmt = _candidates_stmt(actor, pool_def, filters, year).order_by(Enterprise.name, Enterprise.id)
    return [_candidate_row(pool_def, r) for r in session.execute(stmt)], year


def candidate_counts(
    session: Session, *, actor: Principal, pool_code: str, filters: PoolFilters
) -> tuple[dict[str, dict[str, int]], int]:
    """Candidates per township, met and 待人工判断, in ONE query."""
    actor.require("pools:read")
    pool_def = get_pool_def(pool_code)
    _check_filters(filters)
    year = resolve_year(session, filters.year)
    psql = pool_sql.PoolSql(pool_def, year)
    mu = MuJoin(year)
    met = func.sum(case((psql.met, 1), else_=0))
    stmt = select(Enterprise.township, met, func.count()).select_from(Enterprise)
    stmt = mu.join(psql.join(stmt)).where(*_candidates_where(actor, pool_def, psql, filters, mu))
    stmt = _common_filters(stmt, actor, filters, mu).group_by(Enterprise.township)
    out = {t: {"met": int(m or 0), "judgement": int(n - (m or 0))} for t, m, n in session.execute(stmt)}
    return out, year


def sql_candidacy(
    session: Session, *, pool_code: str, year: int, enterprise_ids: Iterable[int]
) -> dict[int, dict[str, str]]:
    """Per enterprise: each entry class's candidacy and the pool's ("_pool"), as the SQL computes them."""
    pool_def = get_pool_def(pool_code)
    psql = pool_sql.PoolSql(pool_def, year)
    stmt = select(Enterprise.id, psql.candidacy, *[k.candidacy for k in psql.classes]).select_from(Enterprise)
    stmt = psql.join(stmt).where(Enterprise.id.in_(list(enterprise_ids)))
    out = {}
    for eid, pool_status, *classes in session.execute(stmt):
        out[eid] = {"_pool": pool_status, **{e.code: c for e, c in zip(pool_def.entry_classes, classes, strict=True)}}
    return out


# --- entering and leaving --------------------------------------------------------------------


def _current(session: Session, enterprise_id: int, pool_code: str) -> PoolMembership | None:
    return session.scalar(select(M).where(M.enterprise_id == enterprise_id, M.pool == pool_code, M.left_date.is_(None)))


def _needs_figures(entries: Iterable[EntryClass]) -> bool:
    return any(c.kind in pool_sql.FIGURE_KINDS for e in entries for c in pool_sql.walk_criteria(e.criteria))


def _entry_year(ent: Enterprise, entries: list[EntryClass], year: int | None, entered: date) -> int:
    years = sorted(f.year for f in ent.figures)
    needs = _needs_figures(entries)
    if year is not None:
        if needs and year not in years:
            have = "、".join(map(str, years)) or "无"
            raise ValidationFailed.one("year", f"该企业没有 {year} 年的年度数据（已有年度：{have}），无法检查入库条件")
        return year
    usable = [y for y in years if y <= entered.year]
    if usable:
        return usable[-1]
    if needs:
        raise ValidationFailed.one(
            "year", f"该企业没有 {entered.year} 年及以前的年度数据，无法检查入库条件；请先录入年度数据或指定年度"
        )
    return entered.year


def _choose_class(pool_def: PoolDefinition, facts: FirmFacts, year: int) -> EntryClass:
    """The first entry class met, else the first 待人工判断, else the first lacking only data."""
    by_candidacy: dict[Candidacy, EntryClass] = {}
    for entry in pool_def.entry_classes:
        c = class_candidacy(evaluate_entry_class(entry, facts, year))
        by_candidacy.setdefault(c, entry)
    for c in (Candidacy.MET, Candidacy.JUDGEMENT, Candidacy.MISSING):
        if c in by_candidacy:
            return by_candidacy[c]
    summaries = "；".join(s.summary for s in entry_rule_status(pool_def, facts, year))
    raise ValidationFailed.one("entry_class", f"{year} 年不符合“{pool_def.name}”任何入库类别：{summaries}")


def enter(
    session: Session, *, actor: Principal, pool_code: str, data: EnterIn, review_id: int | None = None
) -> PoolMembership:
    """Enter a firm by an entry class. Refused when a checkable criterion fails; judgement and gaps are recorded."""
    actor.require("pools:write")
    pool_def = get_pool_def(pool_code)
    entry = _entry_class(pool_def, data.entry_class)
    ent = _enterprise(session, actor, data.enterprise_id)
    today = date.today()
    entered = data.entered_date or today
    if entered > today:
        raise ValidationFailed.one("entered_date", f"入库日期 {entered} 晚于今天")
    if entered < pool_def.in_force.start:
        raise ValidationFailed.one(
            "entered_date",
            f"入库日期 {entered} 早于“{pool_def.name}”所依据的{pool_def.document}的施行日期 {pool_def.in_force.start}",
        )
    current = _current(session, ent.id, pool_code)
    if current is not None:
        raise Conflict(
            "该企业已在该培育库中",
            errors=[
                FieldError(
                    "enterprise_id",
                    f"“{ent.name}”已在“{pool_def.name}”中（{current.entered_date} 入库，"
                    f"{class_name(pool_code, current.entry_class) or current.entry_class}），不能重复入库",
                )
            ],
            code="already_member",
        )
    last_left = session.scalar(select(func.max(M.left_date)).where(M.enterprise_id == ent.id, M.pool == pool_code))
    if last_left is not None and entered < last_left:
        raise ValidationFailed.one("entered_date", f"入库日期 {entered} 早于该企业上次出库日期 {last_left}")
    facts = facts_for(ent)
    year = _entry_year(ent, [entry] if entry else pool_def.entry_classes, data.year, entered)
    if entry is None:
        entry = _choose_class(pool_def, facts, year)
    results = evaluate_entry_class(entry, facts, year)
    if class_candidacy(results) is Candidacy.FAILED:
        failed = "；".join(r.explanation for r in results if r.status is Status.FAILED)
        raise ValidationFailed.one(
            "entry_class",
            f"不符合入库条件“{entry.name}”（{pool_def.document} {entry.clause}），按 {year} 年数据：{failed}",
        )
    m = PoolMembership(
        enterprise_id=ent.id,
        pool=pool_code,
        entry_class=entry.code,
        entered_date=entered,
        entered_by=actor.name,
        entry_note=data.note or None,
        evaluated_year=year,
        entry_evaluation=[criterion_dict(r) for r in results],
        entry_review_id=review_id,
    )
    try:
        with session.begin_nested():
            session.add(m)
            session.flush()
    except IntegrityError as e:  # a concurrent request entered it first
        raise Conflict(
            "该企业已在该培育库中",
            errors=[FieldError("enterprise_id", f"“{ent.name}”已在“{pool_def.name}”中，不能重复入库")],
            code="already_member",
        ) from e
    audit.record(
        session,
        actor=actor,
        action="pool_enter",
        entity_type="pool_membership",
        entity_id=m.id,
        enterprise_id=ent.id,
        township=ent.township,
        changes={
            "pool": [None, pool_code],
            "entry_class": [None, entry.code],
            "entered_date": [None, entered],
            "evaluated_year": [None, year],
        },
        note=f"入库：{pool_def.name}（{entry.name}）" + (f"；{data.note}" if data.note else ""),
    )
    return m


def leave(
    session: Session,
    *,
    actor: Principal,
    pool_code: str,
    enterprise_id: int,
    data: LeaveIn,
    review_id: int | None = None,
) -> PoolMembership:
    actor.require("pools:write")
    pool_def = get_pool_def(pool_code)
    if data.reason not in LEAVE_REASONS:
        options = "、".join(f"{k} {v}" for k, v in LEAVE_REASONS.items())
        raise ValidationFailed.one("reason", f"未知的出库原因“{data.reason}”（可选：{options}）")
    if data.reason == "other" and not (data.note or "").strip():
        raise ValidationFailed.one("note", "出库原因为“其他”时须填写说明")
    ent = _enterprise(session, actor, enterprise_id, details=False, allow_deleted=True)
    m = _current(session, ent.id, pool_code)
    if m is None:
        last = session.scalar(select(func.max(M.left_date)).where(M.enterprise_id == ent.id, M.pool == pool_code))
        why = f"已于 {last} 出库" if last else "从未入库"
        raise Conflict(
            "该企业不在该培育库中",
            errors=[FieldError("enterprise_id", f"“{ent.name}”不在“{pool_def.name}”中（{why}），不能出库")],
            code="not_member",
        )
    today = date.today()
    left = data.left_date or today
    if left > today:
        raise ValidationFailed.one("left_date", f"出库日期 {left} 晚于今天")
    if left < m.entered_date:
        raise ValidationFailed.one("left_date", f"出库日期 {left} 早于入库日期 {m.entered_date}")
    m.left_date = left
    m.leave_reason = data.reason
    m.left_by = actor.name
    m.leave_note = data.note or None
    m.leave_review_id = review_id
    session.flush()
    _close_graduations(session, actor, m)
    audit.record(
        session,
        actor=actor,
        action="pool_leave",
        entity_type="pool_membership",
        entity_id=m.id,
        enterprise_id=ent.id,
        township=ent.township,
        changes={"pool": pool_code, "left_date": [None, left], "leave_reason": [None, data.reason]},
        note=f"出库：{pool_def.name}（{LEAVE_REASONS[data.reason]}）" + (f"；{data.note}" if data.note else ""),
    )
    return m


def history(session: Session, *, actor: Principal, enterprise_id: int) -> list[PoolMembership]:
    actor.require("pools:read")
    _enterprise(session, actor, enterprise_id, details=False)
    return list(session.scalars(select(M).where(M.enterprise_id == enterprise_id).order_by(M.entered_date.desc(), M.id.desc())))


# --- graduation ------------------------------------------------------------------------------


def _matching_goal(pool_def: PoolDefinition, trigger: str, honour: Honour | None):
    for g in pool_def.goals:
        if trigger == "above_scale" and isinstance(g, AboveScaleGoal):
            return g
        if (
            trigger == "honour"
            and isinstance(g, HonourGoal)
            and honour is not None
            and honour.outcome == "new"
            and honour.code in g.honours
            and (g.levels is None or honour.level in g.levels)
        ):
            return g
    return None


def propose_graduations(
    session: Session, *, actor: Principal, enterprise: Enterprise, trigger: str, honour: Honour | None = None
) -> list[PoolGraduation]:
    """A member reached its pool's goal (升规, 认定): record a proposal to leave and move on."""
    pools = load_pools()
    proposals = []
    for m in session.scalars(select(M).where(M.enterprise_id == enterprise.id, M.left_date.is_(None))):
        pool_def = pools.get(m.pool)
        goal = _matching_goal(pool_def, trigger, honour) if pool_def else None
        if goal is None:
            continue
        dup = select(PoolGraduation.id).where(
            PoolGraduation.membership_id == m.id,
            PoolGraduation.trigger == trigger,
            PoolGraduation.status == "pending",
        )
        if honour is not None:
            dup = dup.where(PoolGraduation.honour_id == honour.id)
        if session.scalar(dup) is not None:
            continue
        g = PoolGraduation(
            membership_id=m.id,
            enterprise_id=enterprise.id,
            pool=m.pool,
            trigger=trigger,
            honour_id=honour.id if honour is not None else None,
            event_date=honour.honour_date if honour is not None else date.today(),
            goal_text=goal.text,
            status="pending",
        )
        session.add(g)
        session.flush()
        proposals.append(g)
        audit.record(
            session,
            actor=actor,
            action="graduation_propose",
            entity_type="pool_graduation",
            entity_id=g.id,
            enterprise_id=enterprise.id,
            township=enterprise.township,
            changes={"pool": m.pool, "trigger": trigger, "status": [None, "pending"]},
            note=f"达成“{pool_def.name}”培育目标：{goal.text}，建议出库" + (
                f"并转入{'、'.join(pools[n].name for n in pool_def.next_pools)}" if pool_def.next_pools else ""
            ),
        )
    return proposals


def _close_graduations(session: Session, actor: Principal, m: PoolMembership) -> None:
    """A member that leaves has its pending proposals settled: confirmed if it left for its goal."""
    status = "confirmed" if m.leave_reason in ("above_scale", "honoured", "talent_selected") else "dismissed"
    session.execute(
        update(PoolGraduation)
        .where(PoolGraduation.membership_id == m.id, PoolGraduation.status == "pending")
        .values(status=status, decided_at=utcnow(), decided_by=actor.name, note=f"已出库（{LEAVE_REASONS[m.leave_reason]}）")
        .execution_options(synchronize_session="fetch")
    )


@dataclass
class GraduationRow:
    graduation: PoolGraduation
    enterprise: Enterprise
    membership: PoolMembership


def graduations(
    session: Session, *, actor: Principal, pool_code: str | None = None, status: str | None = "pending",
    enterprise_id: int | None = None,
) -> list[GraduationRow]:
    actor.require("pools:read")
    if pool_code is not None:
        get_pool_def(pool_code)
    if status is not None and status not in ("pending", "confirmed", "dismissed"):
        raise ValidationFailed.one("status", "状态应为 pending、confirmed、dismissed 之一")
    stmt = (
        select(PoolGraduation, Enterprise, M)
        .join(Enterprise, Enterprise.id == PoolGraduation.enterprise_id)
        .join(M, M.id == PoolGraduation.membership_id)
        .where(Enterprise.deleted_at.is_(None))
        .order_by(PoolGraduation.proposed_at.desc(), PoolGraduation.id.desc())
    )
    if pool_code is not None:
        stmt = stmt.where(PoolGraduation.pool == pool_code)
    if status is not None:
        stmt = stmt.where(PoolGraduation.status == status)
    if enterprise_id is not None:
        stmt = stmt.where(PoolGraduation.enterprise_id == enterprise_id)
    return [GraduationRow(*r) for r in session.execute(_scope(stmt, actor).limit(1000))]


def _graduation(session: Session, actor: Principal, proposal_id: int) -> tuple[PoolGraduation, Enterprise]:
    stmt = (
        select(PoolGraduation, Enterprise)
        .join(Enterprise, Enterprise.id == PoolGraduation.enterprise_id)
        .where(PoolGraduation.id == proposal_id)
    )
    row = session.execute(_scope(stmt, actor)).first()
    if row is None:
        raise NotFound("未找到该毕业提议")
    g, ent = row
    if g.status != "pending":
        done = {"confirmed": "已确认", "dismissed": "已驳回"}[g.status]
        raise Conflict(f"该毕业提议{done}，不能再次处理", errors=[FieldError("proposal_id", f"该毕业提议{done}")])
    return g, ent


def confirm_graduation(
    session: Session, *, actor: Principal, proposal_id: int, data: GraduationConfirm
) -> tuple[PoolGraduation, PoolMembership | None]:
    """Leave the pool for the goal reached; optionally enter the next pool. All or nothing."""
    actor.require("pools:write")
    with session.begin_nested():
        return _confirm_graduation(session, actor, proposal_id, data)


def _confirm_graduation(
    session: Session, actor: Principal, proposal_id: int, data: GraduationConfirm
) -> tuple[PoolGraduation, PoolMembership | None]:
    g, ent = _graduation(session, actor, proposal_id)
    pool_def = get_pool_def(g.pool)
    if data.next_pool is not None and data.next_pool not in load_pools():
        raise ValidationFailed.one("next_pool", f"未知的培育库“{data.next_pool}”")
    if data.next_pool == g.pool:
        raise ValidationFailed.one("next_pool", "不能转入同一个培育库")
    m = session.get(M, g.membership_id)
    today = date.today()
    left = data.left_date or min(max(g.event_date, m.entered_date), today)
    reason = "above_scale" if g.trigger == "above_scale" else "honoured"
    leave(session, actor=actor, pool_code=g.pool, enterprise_id=ent.id, data=LeaveIn(reason=reason, left_date=left, note=data.note))
    g.status = "confirmed"
    g.decided_at = utcnow()
    g.decided_by = actor.name
    g.note = data.note
    entered = None
    if data.next_pool:
        next_def = get_pool_def(data.next_pool)
        if _current(session, ent.id, data.next_pool) is None:
            start = max(left, next_def.in_force.start)
            try:
                entered = enter(
                    session,
                    actor=actor,
                    pool_code=data.next_pool,
                    data=EnterIn(
                        enterprise_id=ent.id,
                        entry_class=data.next_entry_class,
                        entered_date=min(start, today),
                        note=f"由“{pool_def.name}”毕业转入" + (f"；{data.note}" if data.note else ""),
                    ),
                )
            except AppError as e:
                named = "next_entry_class" if data.next_entry_class else "next_pool"
                e.errors = [FieldError(named if x.field == "entry_class" else "next_pool", x.message) for x in e.errors]
                raise
        g.next_pool = data.next_pool
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="graduation_confirm",
        entity_type="pool_graduation",
        entity_id=g.id,
        enterprise_id=ent.id,
        township=ent.township,
        changes={"status": ["pending", "confirmed"], "next_pool": [None, data.next_pool]},
        note=f"确认毕业：{pool_def.name}（{g.goal_text}）",
    )
    return g, entered


def dismiss_graduation(session: Session, *, actor: Principal, proposal_id: int, note: str | None) -> PoolGraduation:
    actor.require("pools:write")
    g, ent = _graduation(session, actor, proposal_id)
    g.status = "dismissed"
    g.decided_at = utcnow()
    g.decided_by = actor.name
    g.note = note
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="graduation_dismiss",
        entity_type="pool_graduation",
        entity_id=g.id,
        enterprise_id=ent.id,
        township=ent.township,
        changes={"status": ["pending", "dismissed"]},
        note=note,
    )
    return g


# --- yearly review (动态调整) ------------------------------------------------------------------


@dataclass
class LeavingRow:
    membership: PoolMembership
    enterprise: Enterprise
    candidacy: str  # by the entry class it entered by
    proposed_reason: str
    other_classes: list[str] = field(default_factory=list)  # classes that still hold (met or 待人工判断)


@dataclass
class EnteringRow:
    enterprise: Enterprise
    candidacy: str
    entry_class: str
    previous_candidacy: str
    revenue_yuan: int | None
    main_revenue_yuan: int | None


@dataclass
class ReviewPlanData:
    pool_def: PoolDefinition
    year: int
    kept: int = 0
    leaving: list[LeavingRow] = field(default_factory=list)
    missing_data: list[LeavingRow] = field(default_factory=list)
    entering: list[EnteringRow] = field(default_factory=list)
    entering_total: int = 0
    truncated: bool = False


def _goal_reached(pool_def: PoolDefinition) -> list[tuple[str, ColumnElement[bool]]]:
    """SQL per goal: (leave reason, the member reached it since it entered)."""
    conds = []
    for g in pool_def.goals:
        if isinstance(g, AboveScaleGoal):
            conds.append(("above_scale", Enterprise.above_scale.is_(True)))
        elif isinstance(g, HonourGoal):
            h = [
                Honour.enterprise_id == Enterprise.id,
                Honour.code.in_(g.honours),
                Honour.outcome == "new",
                Honour.honour_date >= M.entered_date,
            ]
            if g.levels is not None:
                h.append(Honour.level.in_(g.levels))
            conds.append(("honoured", exists().where(*h)))
    return conds


def review_plan(
    session: Session, *, actor: Principal, pool_code: str, year: int | None, limit: int = 1000
) -> ReviewPlanData:
    """For the year: members who no longer meet the rule they entered by (with a proposed reason), and
    firms for which some entry class newly holds (it did not the year before)."""
    actor.require("pools:read")
    pool_def = get_pool_def(pool_code)
    year = resolve_year(session, year)
    if not 1 <= limit <= 5000:
        raise ValidationFailed.one("limit", "limit 须在 1–5000 之间")
    plan = ReviewPlanData(pool_def, year)
    codes = [e.code for e in pool_def.entry_classes]
    n = len(codes)
    psql = pool_sql.PoolSql(pool_def, year)
    goals = _goal_reached(pool_def)
    stmt = select(
        M, Enterprise, psql.class_candidacy_of(M.entry_class), *[k.candidacy for k in psql.classes],
        *[c for _, c in goals],
    ).select_from(M).join(Enterprise, Enterprise.id == M.enterprise_id)
    stmt = _scope(psql.join(stmt).where(M.pool == pool_code, M.left_date.is_(None)), actor)
    for m, ent, own, *rest in session.execute(stmt.order_by(Enterprise.township, Enterprise.name, M.id)):
        classes, reached = dict(zip(codes, rest[:n], strict=True)), rest[n:]
        others = [c for c, v in classes.items() if c != m.entry_class and v in ("met", "judgement")]
        if ent.deleted_at is not None:
            plan.leaving.append(LeavingRow(m, ent, own, "deregistered", others))
        elif own == "failed":
            reason = next((code for (code, _), hit in zip(goals, reached, strict=True) if hit), "not_eligible")
            plan.leaving.append(LeavingRow(m, ent, own, reason, others))
        elif own == "missing":
            plan.missing_data.append(LeavingRow(m, ent, own, "not_eligible", others))
        else:
            plan.kept += 1

    prev = pool_sql.PoolSql(pool_def, year - 1, name="prev")
    newly = [and_(k.candidate, ~p.candidate) for k, p in zip(psql.classes, prev.classes, strict=True)]
    where = [Enterprise.deleted_at.is_(None), ~member_clause(pool_code, Enterprise.id), or_(*newly)]
    count_stmt = _scope(prev.join(psql.join(select(func.count()).select_from(Enterprise))).where(*where), actor)
    plan.entering_total = session.scalar(count_stmt) or 0
    shown = aliased(EnterpriseFigure, name="shown_fig")
    stmt = select(
        Enterprise,
        *[k.candidacy for k in psql.classes],
        *[p.candidacy for p in prev.classes],
        *[case((x, 1), else_=0) for x in newly],
        shown.revenue_yuan,
        shown.main_revenue_yuan,
    ).select_from(Enterprise)
    stmt = prev.join(psql.join(stmt)).outerjoin(shown, and_(shown.enterprise_id == Enterprise.id, shown.year == year))
    stmt = _scope(stmt.where(*where), actor).order_by(Enterprise.township, Enterprise.name, Enterprise.id).limit(limit)
    for r in session.execute(stmt):
        ent = r[0]
        now, before, new = r[1 : 1 + n], r[1 + n : 1 + 2 * n], r[1 + 2 * n : 1 + 3 * n]
        fresh = [i for i in range(n) if new[i]]
        best = next((i for i in fresh if now[i] == "met"), fresh[0])
        plan.entering.append(EnteringRow(ent, now[best], codes[best], before[best], r[-2], r[-1]))
    plan.truncated = plan.entering_total > len(plan.entering)
    return plan


def confirm_review(session: Session, *, actor: Principal, pool_code: str, data: ReviewConfirm) -> PoolReview:
    """Apply a year's review in one go: every leave and enter, each audited — or none if any is refused."""
    actor.require("pools:write")
    pool_def = get_pool_def(pool_code)
    year = resolve_year(session, data.year)
    today = date.today()
    when = data.review_date or today
    if when > today:
        raise ValidationFailed.one("review_date", f"调整日期 {when} 晚于今天")
    errors: list[FieldError] = []
    for name, items in (("leave", data.leave), ("enter", data.enter)):
        first: dict[int, int] = {}
        for idx, i in enumerate(items):
            if i.enterprise_id in first:
                errors.append(FieldError(
                    f"{name}[{idx}].enterprise_id",
                    f"{name}[{idx}]：企业 {i.enterprise_id} 与 {name}[{first[i.enterprise_id]}] 重复",
                ))
            first.setdefault(i.enterprise_id, idx)
    if errors:
        raise ValidationFailed(errors)
    if not data.leave and not data.enter:
        raise ValidationFailed.one("enter", "没有要调整的企业：请至少选择一家出库或入库的企业")

    review = PoolReview(
        pool=pool_code,
        year=year,
        review_date=when,
        township=actor.township_filter(),
        reviewed_by=actor.name,
        note=data.note,
        entered_count=0,
        left_count=0,
    )
    savepoint = session.begin_nested()
    session.add(review)
    session.flush()
    for idx, item in enumerate(data.leave):
        try:
            with session.begin_nested():
                leave(
                    session,
                    actor=actor,
                    pool_code=pool_code,
                    enterprise_id=item.enterprise_id,
                    data=LeaveIn(reason=item.reason, left_date=when, note=item.note or data.note),
                    review_id=review.id,
                )
        except AppError as e:
            errors.extend(_item_errors("leave", idx, item.enterprise_id, e))
    for idx, item in enumerate(data.enter):
        try:
            with session.begin_nested():
                enter(
                    session,
                    actor=actor,
                    pool_code=pool_code,
                    data=EnterIn(
                        enterprise_id=item.enterprise_id,
                        entry_class=item.entry_class,
                        entered_date=when,
                        year=year,
                        note=item.note or data.note,
                    ),
                    review_id=review.id,
                )
        except AppError as e:
            errors.extend(_item_errors("enter", idx, item.enterprise_id, e))
    if errors:
        savepoint.rollback()
        raise ValidationFailed(errors, detail=f"年度调整未执行：共 {len(errors)} 处错误，未作任何修改")
    review.left_count = len(data.leave)
    review.entered_count = len(data.enter)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="pool_review",
        entity_type="pool_review",
        entity_id=review.id,
        township=actor.township_filter(),
        changes={"pool": pool_code, "year": year, "left": len(data.leave), "entered": len(data.enter)},
        note=f"{pool_def.name} {year} 年度动态调整（{pool_def.review.clause if pool_def.review else '动态调整'}）",
    )
    savepoint.commit()
    return review


def _item_errors(name: str, idx: int, enterprise_id: int, e: AppError) -> list[FieldError]:
    prefix = f"{name}[{idx}]"
    if isinstance(e, NotFound) and not e.errors:
        return [FieldError(f"{prefix}.enterprise_id", f"{prefix}：未找到企业 {enterprise_id}")]
    errs = e.errors or [FieldError("enterprise_id", e.detail)]
    return [FieldError(f"{prefix}.{x.field}", f"{prefix}（企业 {enterprise_id}）：{x.message}") for x in errs]


# --- per enterprise --------------------------------------------------------------------------


@dataclass
class EnterprisePool:
    pool_def: PoolDefinition
    member: PoolMembership | None
    history: list[PoolMembership]
    candidacy: str
    statuses: list  # criteria.EntryRuleStatus
    class_candidacy: dict[str, str]
    graduations: list[PoolGraduation]


@dataclass
class EnterpriseStatus:
    enterprise: Enterprise
    year: int | None
    pools: list[EnterprisePool]
    mu: dict | None
    mu_records: list[MuClassRecord]


def enterprise_status(session: Session, *, actor: Principal, enterprise_id: int, year: int | None = None) -> EnterpriseStatus:
    """Every pool for one firm: membership and history, each entry rule's criteria with figures, proposals."""
    actor.require("pools:read")
    ent = _enterprise(session, actor, enterprise_id)
    if year is not None and not any(f.year == year for f in ent.figures):
        have = "、".join(str(f.year) for f in sorted(ent.figures, key=lambda f: f.year)) or "无"
        raise ValidationFailed.one("year", f"该企业没有 {year} 年的年度数据（已有年度：{have}）")
    if year is None:
        year = max((f.year for f in ent.figures), default=None)
    facts = facts_for(ent)
    eval_year = year or date.today().year
    memberships = list(session.scalars(select(M).where(M.enterprise_id == ent.id).order_by(M.entered_date.desc(), M.id.desc())))
    grads = list(
        session.scalars(
            select(PoolGraduation)
            .where(PoolGraduation.enterprise_id == ent.id, PoolGraduation.status == "pending")
            .order_by(PoolGraduation.id)
        )
    )
    pools = []
    for code, pool_def in load_pools().items():
        statuses = entry_rule_status(pool_def, facts, eval_year)
        per_class = {s.entry_class: class_candidacy(s.results).value for s in statuses}
        hist = [m for m in memberships if m.pool == code]
        pools.append(
            EnterprisePool(
                pool_def,
                next((m for m in hist if m.left_date is None), None),
                hist,
                combine_candidacy([Candidacy(v) for v in per_class.values()]).value,
                statuses,
                per_class,
                [g for g in grads if g.pool == code],
            )
        )
    records = list(session.scalars(select(MuClassRecord).where(MuClassRecord.enterprise_id == ent.id).order_by(MuClassRecord.year.desc())))
    return EnterpriseStatus(ent, year, pools, mu_for(session, ent, year, records), records)


def mu_for(session: Session, ent: Enterprise, year: int | None, records: list[MuClassRecord]) -> dict | None:
    if year is None:
        return None
    rec = next((r for r in records if r.year == year), None)
    prov = session.scalar(select(MuProvisional).where(MuProvisional.enterprise_id == ent.id, MuProvisional.year == year))
    if rec is not None:
        cls, source = rec.mu_class, rec.source
    elif prov is not None and prov.mu_class is not None:
        cls, source = prov.mu_class, "provisional"
    elif ent.mu_class is not None:
        cls, source = ent.mu_class, "registry"
    else:
        cls, source = None, None
    return {
        "year": year,
        "mu_class": cls,
        "source": source,
        "provisional_class": prov.mu_class if prov else None,
        "provisional_rank": prov.rank if prov else None,
        "provisional_ranked": prov.ranked if prov else None,
        "provisional_score": prov.score if prov else None,
        "indicators": prov.indicators if prov else {},
        "notes": prov.notes if prov else [],
    }


# --- 亩产效益: recorded classes --------------------------------------------------------------


def _require_county_writer(actor: Principal) -> None:
    actor.require("pools:write")
    if not actor.is_county:
        raise Forbidden("亩产效益评价类别由县级录入或导入")


def _sync_registry_class(session: Session, actor: Principal, pairs: dict[int, str], year: int) -> int:
    """Enterprise.mu_class is the current class: set it from a year's records unless a later year is recorded."""
    if not pairs:
        return 0
    later = set(
        session.scalars(
            select(MuClassRecord.enterprise_id).where(
                MuClassRecord.enterprise_id.in_(list(pairs)), MuClassRecord.year > year
            )
        )
    )
    current = dict(
        session.execute(select(Enterprise.id, Enterprise.mu_class).where(Enterprise.id.in_(list(pairs)))).all()
    )
    changes = [{"eid": eid, "cls": cls} for eid, cls in pairs.items() if eid not in later and current.get(eid) != cls]
    if not changes:
        return 0
    t = Enterprise.__table__
    session.execute(
        update(t)
        .where(t.c.id == bindparam("eid"))
        .values(mu_class=bindparam("cls"), version=t.c.version + 1, updated_at=utcnow()),
        changes,
    )
    changed = {c["eid"] for c in changes}
    for obj in list(session.identity_map.values()):  # their rows changed underneath (new versions)
        if isinstance(obj, Enterprise) and obj.id in changed:
            session.expire(obj, ["mu_class", "version", "updated_at"])
    return len(changes)


def record_mu_class(
    session: Session, *, actor: Principal, enterprise_id: int, year: int, mu_class: str, note: str | None = None
) -> MuClassRecord:
    _require_county_writer(actor)
    if not 2000 <= year <= 2100:
        raise ValidationFailed.one("year", "年度应在 2000–2100 之间")
    if mu_class not in MU_CLASSES:
        raise ValidationFailed.one("mu_class", f"亩产效益类别“{mu_class}”无效，应为 A、B、C、D 之一")
    ent = _enterprise(session, actor, enterprise_id, details=False)
    rec = session.scalar(select(MuClassRecord).where(MuClassRecord.enterprise_id == ent.id, MuClassRecord.year == year))
    before = rec.mu_class if rec else None
    if rec is None:
        rec = MuClassRecord(enterprise_id=ent.id, year=year, mu_class=mu_class, source="entered", note=note,
                            recorded_by=actor.name)
        session.add(rec)
    else:
        rec.mu_class, rec.source, rec.note, rec.recorded_by, rec.recorded_at = mu_class, "entered", note, actor.name, utcnow()
    session.flush()
    township = ent.township
    synced = _sync_registry_class(session, actor, {ent.id: mu_class}, year)
    audit.record(
        session,
        actor=actor,
        action="create" if before is None else "update",
        entity_type="mu_class_record",
        entity_id=f"{enterprise_id}:{year}",
        enterprise_id=enterprise_id,
        township=township,
        changes={"year": year, "mu_class": [before, mu_class], **({"enterprise.mu_class": [None, mu_class]} if synced else {})},
        note=f"{year} 年亩产效益评价类别" + (f"；{note}" if note else ""),
    )
    return rec


MU_IMPORT_HEADERS = {
    "统一社会信用代码": "uscc",
    "亩产效益类别": "mu_class",
    "类别": "mu_class",
    "评价类别": "mu_class",
    "亩产效益评价类别": "mu_class",
    "企业名称": "name",
}


def import_mu_classes(session: Session, *, actor: Principal, year: int, data: bytes) -> tuple[int, int]:
    """The county's evaluation list (.xlsx: USCC + class) for a year; every row checked, all written or none."""
    from app.enterprises.excel import ImportRejected, read_rows

    _require_county_writer(actor)
    if not 2000 <= year <= 2100:
        raise ValidationFailed.one("year", "年度应在 2000–2100 之间")
    rows = read_rows(data)
    if not rows:
        raise ImportRejected([FieldError("file", "工作表为空")])

    def text(v) -> str:
        if v is None:
            return ""
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v).strip()

    header = [text(c) for c in rows[0]]
    cols = {MU_IMPORT_HEADERS[h]: i for i, h in enumerate(header) if h in MU_IMPORT_HEADERS}
    errors: list[FieldError] = []
    for need, label in (("uscc", "统一社会信用代码"), ("mu_class", "亩产效益类别")):
        if need not in cols:
            errors.append(FieldError(label, f"缺少必需的列“{label}”", row=1))
    if errors:
        raise ImportRejected(errors, detail="导入被拒绝：表头不符，未写入任何数据")
    parsed: dict[str, tuple[str, int]] = {}
    for rownum, row in enumerate(rows[1:], start=2):
        cells = [text(c) for c in row]
        if not any(cells):
            continue
        code = normalise(cells[cols["uscc"]] if cols["uscc"] < len(cells) else "")
        cls = (cells[cols["mu_class"]] if cols["mu_class"] < len(cells) else "").upper().removesuffix("类")
        if not code:
            errors.append(FieldError("统一社会信用代码", f"第 {rownum} 行“统一社会信用代码”：必填", row=rownum))
        elif reason := uscc_error(code):
            errors.append(FieldError("统一社会信用代码", f"第 {rownum} 行“统一社会信用代码”：{reason}", row=rownum))
        elif code in parsed:
            errors.append(FieldError("统一社会信用代码", f"第 {rownum} 行“统一社会信用代码”：与第 {parsed[code][1]} 行重复", row=rownum))
        if cls not in MU_CLASSES:
            errors.append(FieldError("亩产效益类别", f"第 {rownum} 行“亩产效益类别”：应为 A、B、C、D 之一", row=rownum))
        if code and code not in parsed:
            parsed[code] = (cls, rownum)
    if not parsed and not errors:
        errors.append(FieldError("file", "文件中没有数据行"))
    ids: dict[str, tuple[int, str]] = {}
    codes = list(parsed)
    for i in range(0, len(codes), 1000):
        stmt = select(Enterprise.uscc, Enterprise.id, Enterprise.township).where(
            Enterprise.uscc.in_(codes[i : i + 1000]), Enterprise.deleted_at.is_(None)
        )
        ids.update({u: (eid, t) for u, eid, t in session.execute(stmt)})
    for code, (_, rownum) in parsed.items():
        if code not in ids and not any(e.row == rownum for e in errors):
            errors.append(FieldError("统一社会信用代码", f"第 {rownum} 行“统一社会信用代码”：{code} 未在企业名录中登记", row=rownum))
    if errors:
        errors.sort(key=lambda e: e.row or 0)
        raise ImportRejected(errors, detail=f"导入被拒绝：共 {len(errors)} 处错误，未写入任何数据")

    existing = {
        eid: rec
        for eid, rec in session.execute(
            select(MuClassRecord.enterprise_id, MuClassRecord).where(
                MuClassRecord.year == year, MuClassRecord.enterprise_id.in_([v[0] for v in ids.values()])
            )
        )
    }
    now = utcnow()
    new_rows, audit_rows, pairs, changed = [], [], {}, 0
    for code, (cls, _) in parsed.items():
        eid, township = ids[code]
        pairs[eid] = cls
        rec = existing.get(eid)
        before = rec.mu_class if rec else None
        if rec is None:
            new_rows.append({"enterprise_id": eid, "year": year, "mu_class": cls, "source": "imported",
                             "recorded_by": actor.name, "recorded_at": now, "note": "县亩产效益评价名单导入"})
        else:
            rec.mu_class, rec.source, rec.recorded_by, rec.recorded_at = cls, "imported", actor.name, now
        if before != cls:
            changed += 1
            audit_rows.append({
                "at": now, "actor_kind": actor.kind, "actor_id": actor.id, "actor_name": actor.name,
                "action": "create" if before is None else "update", "entity_type": "mu_class_record",
                "entity_id": f"{eid}:{year}", "enterprise_id": eid, "township": township,
                "changes": {"year": year, "mu_class": [before, cls]}, "note": f"{year} 年亩产效益评价名单导入",
            })
    if new_rows:
        session.execute(insert(MuClassRecord), new_rows)
    session.flush()
    if audit_rows:
        session.execute(insert(AuditEntry), audit_rows)
    _sync_registry_class(session, actor, pairs, year)
    session.flush()
    return len(parsed), changed


def mu_records(
    session: Session, *, actor: Principal, enterprise_id: int, cursor: str | None = None, limit: int = 50
) -> tuple[list[MuClassRecord], str | None]:
    """An enterprise's recorded classes, latest year first, by keyset on the year."""
    actor.require("pools:read")
    if not 1 <= limit <= 500:
        raise ValidationFailed.one("limit", "每页条数须在 1–500 之间")
    _enterprise(session, actor, enterprise_id, details=False)
    stmt = select(MuClassRecord).where(MuClassRecord.enterprise_id == enterprise_id)
    if cursor:
        year, _ = decode_cursor(cursor, "mu_year")
        if not isinstance(year, int):
            raise ValidationFailed.one("cursor", "分页游标无效，请从第一页重新开始")
        stmt = stmt.where(MuClassRecord.year < year)
    rows = list(session.scalars(stmt.order_by(MuClassRecord.year.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor("mu_year", rows[-1].year, rows[-1].id) if more and rows else None


# --- 亩产效益: the scheme and provisional classes ----------------------------------------------


def effective_scheme(session: Session) -> tuple[MuScheme, MuSchemeSetting | None]:
    """definitions.yaml's scheme with the administrator's weights and bands over it."""
    default = load_mu_scheme()
    setting = session.get(MuSchemeSetting, default.code)
    if setting is None:
        return default, None
    return _merge_scheme(default, setting.weights, setting.bands), setting


def _merge_scheme(default: MuScheme, weights: dict, bands: list | None) -> MuScheme:
    data = default.model_dump()
    for ind in data["indicators"]:
        if ind["code"] in weights:
            ind["weight"] = weights[ind["code"]]
    if bands:
        data["bands"] = bands
    return MuScheme.model_validate(data)


def set_scheme(session: Session, *, actor: Principal, data: MuSchemeIn) -> MuScheme:
    if not actor.is_admin:
        raise Forbidden("只有县工信局管理员可以调整亩产效益评价的权重和分档")
    default = load_mu_scheme()
    known = {i.code: i for i in default.indicators}
    errors = []
    for code, w in data.weights.items():
        if code not in known:
            errors.append(FieldError(f"weights.{code}", f"未知的指标“{code}”（可选：{'、'.join(known)}）"))
        elif not 0 <= w <= 100:
            errors.append(FieldError(f"weights.{code}", f"{known[code].name}的权重须在 0–100 之间"))
    if errors:
        raise ValidationFailed(errors)
    previous, setting = effective_scheme(session)
    weights = {**(setting.weights if setting else {}), **data.weights}
    bands = [b.model_dump() for b in data.bands] if data.bands is not None else (setting.bands if setting else None)
    try:
        scheme = _merge_scheme(default, weights, bands)
    except ValidationError as e:
        msgs = [str(x.get("msg", "")).removeprefix("Value error, ") for x in e.errors()]
        field_name = "bands" if any("档" in m for m in msgs) else "weights"
        raise ValidationFailed([FieldError(field_name, m) for m in msgs]) from None
    if setting is None:
        setting = MuSchemeSetting(code=default.code, weights=weights, bands=bands or [], updated_by=actor.name)
        session.add(setting)
    else:
        setting.weights, setting.bands, setting.updated_by, setting.updated_at = weights, bands or [], actor.name, utcnow()
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="update",
        entity_type="mu_scheme",
        entity_id=default.code,
        changes={
            "weights": [{i.code: i.weight for i in previous.indicators}, {i.code: i.weight for i in scheme.indicators}],
            "bands": [[b.model_dump() for b in previous.bands], [b.model_dump() for b in scheme.bands]],
        },
        note="调整亩产效益评价权重与分档",
    )
    return scheme


def reset_scheme(session: Session, *, actor: Principal) -> MuScheme:
    if not actor.is_admin:
        raise Forbidden("只有县工信局管理员可以调整亩产效益评价的权重和分档")
    default = load_mu_scheme()
    setting = session.get(MuSchemeSetting, default.code)
    if setting is not None:
        session.delete(setting)
        session.flush()
        audit.record(session, actor=actor, action="delete", entity_type="mu_scheme", entity_id=default.code,
                     note="亩产效益评价方案恢复为默认值")
    return default


@dataclass
class ProvisionalSummary:
    year: int
    ranked: int
    unranked: int
    classes: dict[str, int]
    weights: dict[str, float]
    notes: list[str]


def compute_provisional(session: Session, *, actor: Principal, year: int) -> ProvisionalSummary:
    """Rank every enterprise with the year's figures and store its provisional class (replacing the last run)."""
    _require_county_writer(actor)
    year = resolve_year(session, year)
    scheme, _ = effective_scheme(session)
    fig = EnterpriseFigure
    figure_names = [n for n in FIGURE_FIELDS]
    stmt = (
        select(Enterprise.id, *[getattr(fig, n) for n in figure_names])
        .join(fig, and_(fig.enterprise_id == Enterprise.id, fig.year == year))
        .where(Enterprise.deleted_at.is_(None))
        .order_by(Enterprise.id)
    )
    firms = [
        MuFirm(str(r[0]), {n: _plain(v) for n, v in zip(figure_names, r[1:], strict=True)}) for r in session.execute(stmt)
    ]
    result = classify(firms, scheme)
    ranked = sum(1 for f in result.firms if f.mu_class is not None)
    session.execute(delete(MuProvisional).where(MuProvisional.year == year))
    now = utcnow()
    rows = [
        {
            "enterprise_id": int(f.key),
            "year": year,
            "score": f.score,
            "rank": f.rank,
            "ranked": ranked,
            "mu_class": f.mu_class,
            "indicators": {
                i.code: [i.value, i.percentile, i.weight] for i in f.indicators if i.value is not None
            },
            "notes": list(f.notes),
            "computed_at": now,
        }
        for f in result.firms
    ]
    for i in range(0, len(rows), 5000):
        session.execute(insert(MuProvisional), rows[i : i + 5000])
    classes = Counter(f.mu_class for f in result.firms if f.mu_class)
    summary = ProvisionalSummary(
        year, ranked, len(rows) - ranked, {c: classes.get(c, 0) for c in MU_CLASSES}, result.weights, list(result.notes)
    )
    audit.record(
        session,
        actor=actor,
        action="compute",
        entity_type="mu_provisional",
        entity_id=year,
        changes={"ranked": ranked, "classes": summary.classes, "weights": result.weights},
        note=f"按 {year} 年数据测算亩产效益暂定分类",
    )
    session.flush()
    return summary


@dataclass
class MuRowData:
    enterprise: Enterprise
    record: MuClassRecord | None
    provisional: MuProvisional | None
    mu_class: str | None


def mu_page(
    session: Session,
    *,
    actor: Principal,
    year: int | None,
    township: list[str] | None = None,
    mu_class: list[str] | None = None,
    q: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[MuRowData], str | None, int]:
    """Each firm's recorded and provisional class for the year, its indicator values and rank (best first)."""
    actor.require("pools:read")
    year = resolve_year(session, year)
    f = PoolFilters(year=year, township=township, mu_class=mu_class, q=q)
    _check_filters(f)
    mu = MuJoin(year)
    rank_key = func.coalesce(mu.prov.rank, 1_000_000_000)
    stmt = select(Enterprise, mu.rec, mu.prov, mu.cls, rank_key).select_from(Enterprise)
    stmt = _common_filters(mu.join(stmt).where(Enterprise.deleted_at.is_(None)), actor, f, mu)
    sort = "mu_rank"
    rows, more = _page(session, stmt, rank_key, Enterprise.id, cursor, limit, sort)
    items = [MuRowData(e, rec, prov, cls) for e, rec, prov, cls, _ in rows]
    next_cursor = None
    if more and rows:
        next_cursor = encode_cursor(sort, rows[-1][4], rows[-1][0].id)
    return items, next_cursor, year


def provisional_status(session: Session, year: int) -> tuple[int, object | None]:
    """(enterprises classed, when) of the stored provisional run for a year."""
    n, at = session.execute(
        select(func.count(), func.max(MuProvisional.computed_at)).where(MuProvisional.year == year)
    ).one()
    return n, at
