"""Pools: entering and leaving a pool, and an enterprise's membership history."""

from collections.abc import Iterable
from datetime import date

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.accounts.permissions import Principal
from app.audit import service as audit
from app.db import utcnow
from app.enterprises.models import Enterprise
from app.errors import Conflict, FieldError, ValidationFailed
from app.labels import quoted
from app.pools import sql as pool_sql
from app.pools import store as pool_store
from app.pools.common import (
    M,
    class_name,
    criterion_dict,
    entry_class_of,
    facts_for,
    get_pool_def,
    load_enterprise,
)
from app.pools.criteria import (
    Candidacy,
    FirmFacts,
    Status,
    class_candidacy,
    entry_rule_status,
    evaluate_entry_class,
)
from app.pools.definitions import EntryClass, PoolDefinition
from app.pools.models import LEAVE_REASONS, PoolGraduation, PoolMembership
from app.pools.schemas import EnterIn, LeaveIn

# --- entering and leaving --------------------------------------------------------------------


def current_membership(session: Session, enterprise_id: int, pool_code: str) -> PoolMembership | None:
    return session.scalar(
        select(M).where(M.enterprise_id == enterprise_id, M.pool == pool_code, M.left_date.is_(None))
    )


def _needs_figures(entries: Iterable[EntryClass]) -> bool:
    return any(c.kind in pool_sql.FIGURE_KINDS for e in entries for c in pool_sql.walk_criteria(e.criteria))


def _entry_year(ent: Enterprise, entries: list[EntryClass], year: int | None, entered: date) -> int:
    years = sorted(f.year for f in ent.figures)
    needs = _needs_figures(entries)
    if year is not None:
        if needs and year not in years:
            have = "、".join(map(str, years)) or "无"
            raise ValidationFailed.one(
                "year", f"该企业没有 {year} 年的年度数据（已有年度：{have}），无法检查入库条件"
            )
        return year
    usable = [y for y in years if y <= entered.year]
    if usable:
        return usable[-1]
    if needs:
        raise ValidationFailed.one(
            "year",
            f"该企业没有 {entered.year} 年及以前的年度数据，无法检查入库条件；请先录入年度数据或指定年度",
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
    raise ValidationFailed.one(
        "entry_class", f"{year} 年不符合{quoted(pool_def.name)}任何入库类别：{summaries}"
    )


def enter(
    session: Session, *, actor: Principal, pool_code: str, data: EnterIn, review_id: int | None = None
) -> PoolMembership:
    """Enter a firm by an entry class. Refused when a checkable criterion fails; judgement and gaps are recorded.

    The entry is judged by the pool definitions in force on the entry date, and the membership keeps
    that version (a later version never changes what this entry was judged by)."""
    actor.require("pools:write")
    today = date.today()
    entered = data.entered_date or today
    if entered > today:
        raise ValidationFailed.one("entered_date", f"入库日期 {entered} 晚于今天")
    definitions = pool_store.current(session, entered)
    pool_def = get_pool_def(session, pool_code, entered)
    entry = entry_class_of(pool_def, data.entry_class)
    ent = load_enterprise(session, actor, data.enterprise_id)
    if entered < pool_def.in_force.start:
        raise ValidationFailed.one(
            "entered_date",
            f"入库日期 {entered} 早于{quoted(pool_def.name)}所依据的{pool_def.document}的施行日期 {pool_def.in_force.start}",
        )
    current = current_membership(session, ent.id, pool_code)
    if current is not None:
        raise Conflict(
            "该企业已在该培育库中",
            errors=[
                FieldError(
                    "enterprise_id",
                    f"“{ent.name}”已在{quoted(pool_def.name)}中（{current.entered_date} 入库，"
                    f"{class_name(pool_code, current.entry_class) or current.entry_class}），不能重复入库",
                )
            ],
            code="already_member",
        )
    last_left = session.scalar(
        select(func.max(M.left_date)).where(M.enterprise_id == ent.id, M.pool == pool_code)
    )
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
            f"不符合入库条件{quoted(entry.name)}（{pool_def.document} {entry.clause}），按 {year} 年数据：{failed}",
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
        definition_version_id=definitions.id,
    )
    try:
        with session.begin_nested():
            session.add(m)
            session.flush()
    except IntegrityError as e:  # a concurrent request entered it first
        raise Conflict(
            "该企业已在该培育库中",
            errors=[FieldError("enterprise_id", f"“{ent.name}”已在{quoted(pool_def.name)}中，不能重复入库")],
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
    pool_def = get_pool_def(session, pool_code)
    if data.reason not in LEAVE_REASONS:
        options = "、".join(f"{k} {v}" for k, v in LEAVE_REASONS.items())
        raise ValidationFailed.one("reason", f"未知的出库原因“{data.reason}”（可选：{options}）")
    if data.reason == "other" and not (data.note or "").strip():
        raise ValidationFailed.one("note", "出库原因为“其他”时须填写说明")
    ent = load_enterprise(session, actor, enterprise_id, details=False, allow_deleted=True)
    m = current_membership(session, ent.id, pool_code)
    if m is None:
        last = session.scalar(
            select(func.max(M.left_date)).where(M.enterprise_id == ent.id, M.pool == pool_code)
        )
        why = f"已于 {last} 出库" if last else "从未入库"
        raise Conflict(
            "该企业不在该培育库中",
            errors=[
                FieldError("enterprise_id", f"“{ent.name}”不在{quoted(pool_def.name)}中（{why}），不能出库")
            ],
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
    close_graduations(session, actor, m)
    audit.record(
        session,
        actor=actor,
        action="pool_leave",
        entity_type="pool_membership",
        entity_id=m.id,
        enterprise_id=ent.id,
        township=ent.township,
        changes={"pool": pool_code, "left_date": [None, left], "leave_reason": [None, data.reason]},
        note=f"出库：{pool_def.name}（{LEAVE_REASONS[data.reason]}）"
        + (f"；{data.note}" if data.note else ""),
    )
    return m


def history(session: Session, *, actor: Principal, enterprise_id: int) -> list[PoolMembership]:
    actor.require("pools:read")
    load_enterprise(session, actor, enterprise_id, details=False)
    return list(
        session.scalars(
            select(M).where(M.enterprise_id == enterprise_id).order_by(M.entered_date.desc(), M.id.desc())
        )
    )


def close_graduations(session: Session, actor: Principal, m: PoolMembership) -> None:
    """A member that leaves has its pending proposals settled: confirmed if it left for its goal."""
    status = "confirmed" if m.leave_reason in ("above_scale", "honoured", "talent_selected") else "dismissed"
    session.execute(
        update(PoolGraduation)
        .where(PoolGraduation.membership_id == m.id, PoolGraduation.status == "pending")
        .values(
            status=status,
            decided_at=utcnow(),
            decided_by=actor.name,
            note=f"已出库（{LEAVE_REASONS[m.leave_reason]}）",
        )
        .execution_options(synchronize_session="fetch")
    )
