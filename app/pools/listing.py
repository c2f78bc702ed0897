"""Pools: the lists — overview per pool, members and candidates with their filters and keyset pages."""

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Select, and_, case, func, literal, or_, select, tuple_
from sqlalchemy.orm import Session, aliased

from app import datacache
from app.accounts.permissions import Principal
from app.enterprises.models import Enterprise, EnterpriseFigure
from app.enterprises.visibility import in_township_of
from app.errors import FieldError, ValidationFailed
from app.pagination import decode_cursor, encode_cursor
from app.pools import sql as pool_sql
from app.pools import store as pool_store
from app.pools.common import (
    CANDIDACY_LABELS,
    M,
    entry_class_of,
    get_pool_def,
    member_clause,
    resolve_year,
)
from app.pools.definitions import PoolDefinition
from app.pools.models import MuClassRecord, MuProvisional, PoolGraduation, PoolMembership
from app.reference import MU_CLASSES, township_names

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


def check_filters(f: PoolFilters) -> None:
    errors = []
    for t in f.township or []:
        if t not in township_names():
            errors.append(FieldError("township", f"未知的乡镇代码“{t}”"))
    for c in f.mu_class or []:
        if c not in MU_CLASSES:
            errors.append(FieldError("mu_class", f"亩产效益类别“{c}”无效，应为 A、B、C、D 之一"))
    for c in f.candidacy or []:
        if c not in CANDIDACY_LABELS:
            errors.append(
                FieldError("candidacy", f"判断结果“{c}”无效，应为 {', '.join(CANDIDACY_LABELS)} 之一")
            )
    if errors:
        raise ValidationFailed(errors)


def apply_filters(stmt: Select, actor: Principal, f: PoolFilters, mu: MuJoin) -> Select:
    stmt = stmt.where(in_township_of(actor))
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


def keyset_page(session: Session, stmt: Select, name_col, id_col, cursor: str | None, limit: int, sort: str):
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
    for pool, township, n in session.execute(stmt.where(in_township_of(actor))):
        out.setdefault(pool, {})[township] = n
    return out


def pending_graduation_counts(session: Session, *, actor: Principal) -> dict[str, int]:
    stmt = (
        select(PoolGraduation.pool, func.count())
        .join(Enterprise, Enterprise.id == PoolGraduation.enterprise_id)
        .where(PoolGraduation.status == "pending", Enterprise.deleted_at.is_(None))
        .group_by(PoolGraduation.pool)
    )
    return dict(session.execute(stmt.where(in_township_of(actor))).all())


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
    return [
        PoolOverview(p, counts.get(code, {}), pending.get(code, 0))
        for code, p in pool_store.pools(session).items()
    ]


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
    return page, encode_cursor(
        "pools", page[-1].pool_def.code, start + len(page) - 1
    ) if more and page else None


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
    stmt = (
        select(
            M,
            Enterprise,
            psql.class_candidacy_of(M.entry_class).label("candidacy"),
            mu.cls,
            mu.source,
            shown.revenue_yuan,
            shown.main_revenue_yuan,
        )
        .select_from(M)
        .join(Enterprise, Enterprise.id == M.enterprise_id)
    )
    stmt = psql.join(stmt)
    stmt = mu.join(stmt).outerjoin(shown, and_(shown.enterprise_id == Enterprise.id, shown.year == year))
    stmt = stmt.where(M.pool == pool_def.code, Enterprise.deleted_at.is_(None))
    if not include_left:
        stmt = stmt.where(M.left_date.is_(None))
    if f.entry_class:
        entry_class_of(pool_def, f.entry_class)
        stmt = stmt.where(M.entry_class == f.entry_class)
    if f.candidacy:
        stmt = stmt.where(psql.class_candidacy_of(M.entry_class).in_(f.candidacy))
    return apply_filters(stmt, actor, f, mu)


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
    pool_def = get_pool_def(session, pool_code)
    check_filters(filters)
    year = resolve_year(session, filters.year)
    stmt = _members_stmt(actor, pool_def, filters, year, include_left)
    sort = "members"
    rows, more = keyset_page(session, stmt, Enterprise.name, M.id, cursor, limit, sort)
    items = [MemberRowData(*r) for r in rows]
    next_cursor = (
        encode_cursor(sort, items[-1].enterprise.name, items[-1].membership.id) if more and items else None
    )
    return items, next_cursor, year


def all_members(
    session: Session, *, actor: Principal, pool_code: str, filters: PoolFilters, include_left: bool = False
):
    """Every matching member (for the .xlsx export), in name order."""
    actor.require("pools:read")
    pool_def = get_pool_def(session, pool_code)
    check_filters(filters)
    year = resolve_year(session, filters.year)
    stmt = _members_stmt(actor, pool_def, filters, year, include_left).order_by(Enterprise.name, M.id)
    return [MemberRowData(*r) for r in session.execute(stmt)], year


def count_members(
    session: Session, *, actor: Principal, pool_code: str, filters: PoolFilters, include_left: bool = False
) -> int:
    """How many members match (the list's total), in one query."""
    actor.require("pools:read")
    pool_def = get_pool_def(session, pool_code)
    check_filters(filters)
    year = resolve_year(session, filters.year)
    sub = _members_stmt(actor, pool_def, filters, year, include_left).subquery()
    return session.scalar(select(func.count()).select_from(sub)) or 0


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


def _candidates_where(
    actor: Principal, pool_def: PoolDefinition, psql: pool_sql.PoolSql, f: PoolFilters, mu: MuJoin
):
    conds = [
        Enterprise.deleted_at.is_(None),
        ~member_clause(pool_def.code, Enterprise.id),
        psql.candidate,
    ]
    if f.entry_class:
        entry_class_of(pool_def, f.entry_class)
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
    pool_def = get_pool_def(session, pool_code)
    check_filters(filters)

    def compute():
        year = resolve_year(session, filters.year)
        stmt = _candidates_stmt(actor, pool_def, filters, year)
        sort = "candidates"
        rows, more = keyset_page(session, stmt, Enterprise.name, Enterprise.id, cursor, limit, sort)
        items = [_candidate_row(pool_def, r) for r in rows]
        next_cursor = (
            encode_cursor(sort, items[-1].enterprise.name, items[-1].enterprise.id)
            if more and items
            else None
        )
        return items, next_cursor, year

    # A scan of every enterprise: cached per data version (app/datacache.py), never stale.
    key = (pool_code, repr(filters), cursor, limit, actor.township_filter())
    return datacache.cached(session, "pool_candidates", key, compute)


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
    stmt = mu.join(psql.join(stmt)).outerjoin(
        shown, and_(shown.enterprise_id == Enterprise.id, shown.year == year)
    )
    stmt = stmt.where(*_candidates_where(actor, pool_def, psql, f, mu))
    return apply_filters(stmt, actor, f, mu)


def _candidate_row(pool_def: PoolDefinition, r) -> CandidateRowData:
    n = len(pool_def.entry_classes)
    ent, cand = r[0], r[1]
    classes = {e.code: r[2 + i] for i, e in enumerate(pool_def.entry_classes)}
    return CandidateRowData(ent, cand, classes, r[2 + n], r[3 + n], r[4 + n], r[5 + n])


def all_candidates(session: Session, *, actor: Principal, pool_code: str, filters: PoolFilters):
    actor.require("pools:read")
    pool_def = get_pool_def(session, pool_code)
    check_filters(filters)
    year = resolve_year(session, filters.year)
    stmt = _candidates_stmt(actor, pool_def, filters, year).order_by(Enterprise.name, Enterprise.id)
    return [_candidate_row(pool_def, r) for r in session.execute(stmt)], year


def rank_candidates(rows: list) -> list:
    """Candidates in the order to act on them: those meeting every checkable condition first, then those waiting
    for a person's judgement; within each, the highest revenue first — the closest to the next step (e.g. 规上,
    营业收入 2000 万元); firms without figures last."""
    return sorted(
        rows,
        key=lambda r: (
            r.candidacy != "met",
            r.revenue_yuan is None,
            -(r.revenue_yuan or 0),
            r.enterprise.name,
            r.enterprise.id,
        ),
    )


def candidate_counts(
    session: Session, *, actor: Principal, pool_code: str, filters: PoolFilters
) -> tuple[dict[str, dict[str, int]], int]:
    """Candidates per township, met and 待人工判断, in ONE query."""
    actor.require("pools:read")
    pool_def = get_pool_def(session, pool_code)
    check_filters(filters)

    def compute():
        year = resolve_year(session, filters.year)
        psql = pool_sql.PoolSql(pool_def, year)
        mu = MuJoin(year)
        met = func.sum(case((psql.met, 1), else_=0))
        stmt = select(Enterprise.township, met, func.count()).select_from(Enterprise)
        stmt = mu.join(psql.join(stmt)).where(*_candidates_where(actor, pool_def, psql, filters, mu))
        stmt = apply_filters(stmt, actor, filters, mu).group_by(Enterprise.township)
        out = {t: {"met": int(m or 0), "judgement": int(n - (m or 0))} for t, m, n in session.execute(stmt)}
        return out, year

    return datacache.cached(
        session, "pool_candidate_counts", (pool_code, repr(filters), actor.township_filter()), compute
    )


def sql_candidacy(
    session: Session, *, pool_code: str, year: int, enterprise_ids: Iterable[int]
) -> dict[int, dict[str, str]]:
    """Per enterprise: each entry class's candidacy and the pool's ("_pool"), as the SQL computes them."""
    pool_def = get_pool_def(session, pool_code)
    psql = pool_sql.PoolSql(pool_def, year)
    stmt = select(Enterprise.id, psql.candidacy, *[k.candidacy for k in psql.classes]).select_from(Enterprise)
    stmt = psql.join(stmt).where(Enterprise.id.in_(list(enterprise_ids)))
    out = {}
    for eid, pool_status, *classes in session.execute(stmt):
        out[eid] = {
            "_pool": pool_status,
            **{e.code: c for e, c in zip(pool_def.entry_classes, classes, strict=True)},
        }
    return out
