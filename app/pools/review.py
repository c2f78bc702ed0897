"""Pools: the yearly review (动态调整) — who leaves, who enters, confirmed in one step."""

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import ColumnElement, and_, case, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from app.accounts.permissions import Principal
from app.audit import service as audit
from app.enterprises.models import Enterprise, EnterpriseFigure, Honour
from app.enterprises.visibility import in_township_of
from app.errors import AppError, FieldError, NotFound, ValidationFailed
from app.pools import sql as pool_sql
from app.pools.common import M, get_pool_def, member_clause, resolve_year
from app.pools.definitions import AboveScaleGoal, HonourGoal, PoolDefinition
from app.pools.membership import enter, leave
from app.pools.models import PoolGraduation, PoolMembership, PoolReview
from app.pools.schemas import EnterIn, LeaveIn, ReviewConfirm

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
    """SQL per goal: (leave reason, the member reached it since it entered).

    Graduation is a change that happened while in the pool. 升规 counts only when the registry
    reported it while the firm was a member (which proposed a graduation for this membership):
    a firm already 规上 when it entered (高成长 or 申报 class) that later fails its class has not
    graduated, it simply no longer qualifies.
    """
    conds = []
    for g in pool_def.goals:
        if isinstance(g, AboveScaleGoal):
            since_entry = exists().where(
                PoolGraduation.membership_id == M.id, PoolGraduation.trigger == "above_scale"
            )
            conds.append(("above_scale", and_(Enterprise.above_scale.is_(True), since_entry)))
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
    pool_def = get_pool_def(session, pool_code)
    year = resolve_year(session, year)
    if not 1 <= limit <= 5000:
        raise ValidationFailed.one("limit", "limit 须在 1–5000 之间")
    plan = ReviewPlanData(pool_def, year)
    codes = [e.code for e in pool_def.entry_classes]
    n = len(codes)
    psql = pool_sql.PoolSql(pool_def, year)
    goals = _goal_reached(pool_def)
    stmt = (
        select(
            M,
            Enterprise,
            psql.class_candidacy_of(M.entry_class),
            *[k.candidacy for k in psql.classes],
            *[c for _, c in goals],
        )
        .select_from(M)
        .join(Enterprise, Enterprise.id == M.enterprise_id)
    )
    stmt = psql.join(stmt).where(M.pool == pool_code, M.left_date.is_(None)).where(in_township_of(actor))
    for m, ent, own, *rest in session.execute(stmt.order_by(Enterprise.township, Enterprise.name, M.id)):
        classes, reached = dict(zip(codes, rest[:n], strict=True)), rest[n:]
        others = [c for c, v in classes.items() if c != m.entry_class and v in ("met", "judgement")]
        if ent.deleted_at is not None:
            plan.leaving.append(LeavingRow(m, ent, own, "deregistered", others))
        elif own == "failed":
            reason = next(
                (code for (code, _), hit in zip(goals, reached, strict=True) if hit), "not_eligible"
            )
            plan.leaving.append(LeavingRow(m, ent, own, reason, others))
        elif own == "missing":
            plan.missing_data.append(LeavingRow(m, ent, own, "not_eligible", others))
        else:
            plan.kept += 1

    prev = pool_sql.PoolSql(pool_def, year - 1, name="prev")
    newly = [and_(k.candidate, ~p.candidate) for k, p in zip(psql.classes, prev.classes, strict=True)]
    where = [Enterprise.deleted_at.is_(None), ~member_clause(pool_code, Enterprise.id), or_(*newly)]
    count_stmt = (
        prev.join(psql.join(select(func.count()).select_from(Enterprise)))
        .where(*where)
        .where(in_township_of(actor))
    )
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
    stmt = prev.join(psql.join(stmt)).outerjoin(
        shown, and_(shown.enterprise_id == Enterprise.id, shown.year == year)
    )
    stmt = (
        stmt.where(*where)
        .where(in_township_of(actor))
        .order_by(Enterprise.township, Enterprise.name, Enterprise.id)
        .limit(limit)
    )
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
    pool_def = get_pool_def(session, pool_code)
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
                errors.append(
                    FieldError(
                        f"{name}[{idx}].enterprise_id",
                        f"{name}[{idx}]：企业 {i.enterprise_id} 与 {name}[{first[i.enterprise_id]}] 重复",
                    )
                )
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
