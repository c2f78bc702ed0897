"""服务直通车: problems (诉求) collected, assigned, handled within a deadline, tracked and closed.

冠政办发〔2023〕7号 二（四）11 — "问题收集、限时办理、持续跟踪、销号管理":

    collected (收集) → assigned (交办) → in_progress (办理中) → resolved (已办结) → closed (销号)
    collected / assigned / in_progress → returned (退回, with its reason)
    resolved → in_progress (重新办理: the enterprise is not satisfied)

The deadline is the raised date plus the days of the category (deadlines.yaml). A problem is
overdue when it is still open (collected, assigned, in_progress) after its deadline day; one
resolved after its deadline was handled late. Every step is kept (who, when, what was done) and
audited; the audit entry carries the enterprise, so the change feed serves problem changes.

Township staff see and handle the problems of their township's enterprises and those assigned to
their township; another township's problem is a 404.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

import yaml
from sqlalchemy import Select, and_, case, func, or_, select, tuple_
from sqlalchemy.orm import Session

from app.accounts.permissions import Principal
from app.audit import service as audit
from app.db import utcnow
from app.enterprises import service as enterprise_service
from app.enterprises.models import Enterprise
from app.errors import Conflict, FieldError, NotFound, ValidationFailed
from app.pagination import decode_cursor, encode_cursor
from app.reference import township_names
from app.support.labels import CATEGORY_NAMES, DEPARTMENTS, STATUS_NAMES
from app.support.models import (
    OPEN_STATUSES,
    PROBLEM_CATEGORIES,
    PROBLEM_CHANNELS,
    ProblemAttachment,
    ProblemStep,
    ServiceProblem,
)

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
FIELDS = (
    "category",
    "title",
    "description",
    "raised_by",
    "channel",
    "raised_date",
    "unit_kind",
    "unit",
    "deadline_date",
    "status",
    "visit_id",
    "source",
    "external_ref",
)

# action → (statuses it starts from, status it leads to)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "assign": (("collected", "assigned"), "assigned"),
    "start": (("assigned",), "in_progress"),
    "progress": (("assigned", "in_progress"), None),  # a note; the status stays
    "resolve": (("assigned", "in_progress"), "resolved"),
    "close": (("resolved",), "closed"),
    "reopen": (("resolved",), "in_progress"),
    "return": (("collected", "assigned", "in_progress"), "returned"),
}


@lru_cache
def deadline_days() -> dict[str, int]:
    data = yaml.safe_load((Path(__file__).parent / "deadlines.yaml").read_text(encoding="utf-8"))
    return {k: int(data[k]) for k in PROBLEM_CATEGORIES}


def deadline_for(category: str, raised: date) -> date:
    return raised + timedelta(days=deadline_days()[category])


def visible(actor: Principal):
    """The visibility clause of problems: township staff see their township's (raised there or assigned to it),
    county department staff those assigned to their department; county roles and API keys see all."""
    if actor.department is not None:
        return and_(ServiceProblem.unit_kind == "department", ServiceProblem.unit == actor.department)
    t = actor.township_filter()
    if not t:
        return ServiceProblem.id.is_not(None)
    return or_(
        ServiceProblem.township == t, and_(ServiceProblem.unit_kind == "township", ServiceProblem.unit == t)
    )


def is_overdue(p: ServiceProblem, today: date) -> bool:
    return p.status in OPEN_STATUSES and p.deadline_date < today


def overdue_clause(today: date):
    return and_(ServiceProblem.status.in_(OPEN_STATUSES), ServiceProblem.deadline_date < today)


# --- validation ------------------------------------------------------------------------------


def _check_unit(unit_kind: str, unit: str, errors: list[FieldError]) -> None:
    if unit_kind == "township":
        if unit not in township_names():
            errors.append(FieldError("unit", f"责任单位：未知乡镇“{unit}”"))
    elif unit_kind == "department":
        if not unit or len(unit) > 60:
            errors.append(FieldError("unit", "责任单位：请填写县直部门名称（不超过 60 字）"))
    else:
        errors.append(FieldError("unit_kind", "责任单位类型应为 township（乡镇）或 department（县直部门）"))


def _check_fields(data: dict, errors: list[FieldError]) -> None:
    if data.get("category") not in PROBLEM_CATEGORIES:
        errors.append(
            FieldError(
                "category", f"问题类别应为：{'、'.join(f'{k}（{v}）' for k, v in CATEGORY_NAMES.items())}"
            )
        )
    if data.get("channel") not in PROBLEM_CHANNELS:
        errors.append(FieldError("channel", "反映渠道无效"))
    for f, label, n in (
        ("title", "问题摘要", 200),
        ("description", "问题描述", 5000),
        ("raised_by", "反映人", 100),
    ):
        v = (data.get(f) or "").strip()
        if not v:
            errors.append(FieldError(f, f"{label}：必填"))
        elif len(v) > n:
            errors.append(FieldError(f, f"{label}：不超过 {n} 字"))


# --- writes ----------------------------------------------------------------------------------


def _step(
    session: Session,
    p: ServiceProblem,
    actor: Principal,
    action: str,
    before: str | None,
    note: str | None,
    step_date: date,
) -> ProblemStep:
    s = ProblemStep(
        problem_id=p.id,
        action=action,
        from_status=before,
        to_status=p.status,
        note=note,
        step_date=step_date,
        actor_name=actor.name,
    )
    session.add(s)
    return s


def _audit(
    session: Session, actor: Principal, p: ServiceProblem, action: str, changes: dict, note: str | None = None
):
    audit.record(
        session,
        actor=actor,
        action=action,
        entity_type="service_problem",
        entity_id=p.id,
        enterprise_id=p.enterprise_id,
        township=p.township,
        changes=changes,
        note=note,
    )


def create(
    session: Session,
    *,
    actor: Principal,
    enterprise_id: int,
    category: str,
    title: str,
    description: str,
    raised_by: str,
    channel: str = "visit",
    raised_date: date | None = None,
    unit_kind: str | None = None,
    unit: str | None = None,
    visit_id: int | None = None,
    source: str = "staff",
    external_ref: str | None = None,
    today: date | None = None,
) -> ServiceProblem:
    """Collect a problem (收集). With a unit it is assigned (交办) at once; its deadline follows the category."""
    actor.require("support:write")
    today = today or date.today()
    ent = enterprise_service.get(session, actor=actor, enterprise_id=enterprise_id, with_details=False)
    raised_date = raised_date or today
    data = {
        "category": category,
        "title": title,
        "description": description,
        "raised_by": raised_by,
        "channel": channel,
    }
    errors: list[FieldError] = []
    _check_fields(data, errors)
    if raised_date > today:
        errors.append(FieldError("raised_date", f"反映日期 {raised_date} 晚于今天"))
    if not unit and actor.department is not None:  # a department collects for itself unless it hands it on
        unit_kind, unit = "department", actor.department
    if unit:
        _check_unit(unit_kind or "township", unit, errors)
    if visit_id is not None:
        from app.support.models import ServiceVisit

        v = session.get(ServiceVisit, visit_id)
        if v is None or v.enterprise_id != ent.id:
            errors.append(FieldError("visit_id", "所填走访记录不存在或不属于该企业"))
    if external_ref is not None and session.scalar(
        select(ServiceProblem.id).where(
            ServiceProblem.source == source, ServiceProblem.external_ref == external_ref
        )
    ):
        raise Conflict(
            "该外部编号的诉求已提交",
            errors=[FieldError("external_ref", f"外部编号 {external_ref} 已存在")],
            code="duplicate_external_ref",
        )
    if errors:
        raise ValidationFailed(errors)
    p = ServiceProblem(
        enterprise_id=ent.id,
        township=ent.township,
        category=category,
        title=title.strip(),
        description=description.strip(),
        raised_by=raised_by.strip(),
        channel=channel,
        raised_date=raised_date,
        unit_kind=unit_kind or "township",
        unit=unit or ent.township,
        deadline_date=deadline_for(category, raised_date),
        status="collected",
        visit_id=visit_id,
        source=source,
        external_ref=external_ref,
        created_by=actor.name,
    )
    session.add(p)
    session.flush()
    _step(session, p, actor, "collect", None, f"{CATEGORY_NAMES[category]}：{p.title}", raised_date)
    _audit(
        session,
        actor,
        p,
        "collect",
        {k: [None, v] for k, v in audit.snapshot(p, FIELDS).items() if v is not None},
    )
    if unit:
        transition(
            session,
            actor=actor,
            problem_id=p.id,
            action="assign",
            unit_kind=p.unit_kind,
            unit=p.unit,
            note="收集时交办",
            step_date=raised_date,
            today=today,
        )
    return p


def get(session: Session, *, actor: Principal, problem_id: int, lock: bool = False) -> ServiceProblem:
    actor.require("support:read")
    if not 0 < problem_id < 2**31:
        raise NotFound("未找到该诉求")
    stmt = select(ServiceProblem).where(ServiceProblem.id == problem_id, visible(actor))
    if lock:
        stmt = stmt.with_for_update()
    p = session.scalar(stmt)
    if p is None:
        raise NotFound("未找到该诉求")
    return p


def transition(
    session: Session,
    *,
    actor: Principal,
    problem_id: int,
    action: str,
    note: str | None = None,
    unit_kind: str | None = None,
    unit: str | None = None,
    step_date: date | None = None,
    today: date | None = None,
) -> ServiceProblem:
    """One step of the problem's life; a step not allowed from its status is a 409 naming both."""
    actor.require("support:write")
    today = today or date.today()
    step_date = step_date or today
    if action not in TRANSITIONS:
        raise ValidationFailed.one("action", f"未知的办理操作“{action}”")
    p = get(session, actor=actor, problem_id=problem_id, lock=True)
    sources, target = TRANSITIONS[action]
    from app.support.labels import ACTION_NAMES

    if p.status not in sources:
        raise Conflict(
            f"诉求当前为“{STATUS_NAMES[p.status]}”，不能{ACTION_NAMES[action]}",
            errors=[
                FieldError(
                    "action",
                    f"“{ACTION_NAMES[action]}”只适用于：{'、'.join(STATUS_NAMES[s] for s in sources)}",
                )
            ],
            code="invalid_transition",
        )
    note = (note or "").strip() or None
    errors: list[FieldError] = []
    if step_date > today:
        errors.append(FieldError("step_date", f"办理日期 {step_date} 晚于今天"))
    if step_date < p.raised_date:
        errors.append(FieldError("step_date", f"办理日期 {step_date} 早于反映日期 {p.raised_date}"))
    if action in ("resolve", "return", "progress", "reopen") and not note:
        label = {
            "resolve": "办理结果",
            "return": "退回原因",
            "progress": "办理进展",
            "reopen": "重新办理原因",
        }[action]
        errors.append(FieldError("note", f"{label}：必填"))
    if action == "assign":
        unit_kind = unit_kind or "township"
        unit = (unit or "").strip()
        _check_unit(unit_kind, unit, errors)
    if errors:
        raise ValidationFailed(errors)
    before = audit.snapshot(
        p, ("status", "unit_kind", "unit", "resolution", "return_reason", "resolved_date", "closed_date")
    )
    old_status = p.status
    if action == "assign":
        p.unit_kind, p.unit = unit_kind, unit
    elif action == "resolve":
        p.resolution, p.resolved_date = note, step_date
    elif action == "close":
        p.closed_date = step_date
    elif action == "return":
        p.return_reason = note
    elif action == "reopen":
        p.resolved_date = None
    if target is not None:
        p.status = target
    p.updated_at = utcnow()
    session.flush()
    _step(session, p, actor, action, old_status, note, step_date)
    after = audit.snapshot(p, tuple(before))
    _audit(session, actor, p, action, audit.diff(before, after), note)
    return p


def add_attachment(
    session: Session, *, actor: Principal, problem_id: int, file_name: str, content_type: str, data: bytes
) -> ProblemAttachment:
    actor.require("support:write")
    p = get(session, actor=actor, problem_id=problem_id)
    name = (file_name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()[:200]
    if not name:
        raise ValidationFailed.one("file", "附件：缺少文件名")
    if not data:
        raise ValidationFailed.one("file", f"附件“{name}”为空文件")
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise ValidationFailed.one("file", f"附件“{name}”超过 {MAX_ATTACHMENT_BYTES // 1024 // 1024} MB")
    a = ProblemAttachment(
        problem_id=p.id,
        file_name=name,
        content_type=(content_type or "application/octet-stream")[:100],
        size_bytes=len(data),
        content=data,
        uploaded_by=actor.name,
    )
    session.add(a)
    session.flush()
    _audit(session, actor, p, "attach", {"attachment": [None, name]})
    return a


def attachment(
    session: Session, *, actor: Principal, problem_id: int, attachment_id: int
) -> ProblemAttachment:
    p = get(session, actor=actor, problem_id=problem_id)
    a = session.get(ProblemAttachment, attachment_id) if 0 < attachment_id < 2**31 else None
    if a is None or a.problem_id != p.id:
        raise NotFound("未找到该附件")
    return a


# --- reads -----------------------------------------------------------------------------------


@dataclass
class ProblemFilters:
    status: str | None = None  # a status, or "open"
    category: str | None = None
    township: str | None = None
    unit: str | None = None
    overdue: bool = False
    enterprise_id: int | None = None
    uscc: str | None = None
    external_ref: str | None = None
    raised_from: date | None = None
    raised_to: date | None = None


@dataclass
class ProblemRow:
    problem: ServiceProblem
    enterprise_name: str
    uscc: str
    overdue: bool


def _filtered(actor: Principal, f: ProblemFilters, today: date) -> Select:
    stmt = (
        select(ServiceProblem, Enterprise.name, Enterprise.uscc)
        .join(Enterprise, Enterprise.id == ServiceProblem.enterprise_id)
        .where(visible(actor))
    )
    if f.status == "open":
        stmt = stmt.where(ServiceProblem.status.in_(OPEN_STATUSES))
    elif f.status:
        if f.status not in STATUS_NAMES:
            raise ValidationFailed.one("status", f"status：未知状态“{f.status}”")
        stmt = stmt.where(ServiceProblem.status == f.status)
    if f.category:
        if f.category not in CATEGORY_NAMES:
            raise ValidationFailed.one("category", f"category：未知类别“{f.category}”")
        stmt = stmt.where(ServiceProblem.category == f.category)
    if f.township:
        stmt = stmt.where(ServiceProblem.township == f.township)
    if f.unit:
        stmt = stmt.where(ServiceProblem.unit == f.unit)
    if f.overdue:
        stmt = stmt.where(overdue_clause(today))
    if f.enterprise_id is not None:
        stmt = stmt.where(ServiceProblem.enterprise_id == f.enterprise_id)
    if f.uscc:
        stmt = stmt.where(Enterprise.uscc == f.uscc.strip().upper())
    if f.external_ref:
        stmt = stmt.where(ServiceProblem.external_ref == f.external_ref)
    if f.raised_from:
        stmt = stmt.where(ServiceProblem.raised_date >= f.raised_from)
    if f.raised_to:
        stmt = stmt.where(ServiceProblem.raised_date <= f.raised_to)
    return stmt


def list_problems(
    session: Session,
    *,
    actor: Principal,
    filters: ProblemFilters,
    cursor: str | None = None,
    limit: int = 50,
    today: date | None = None,
) -> tuple[list[ProblemRow], str | None, int]:
    """A keyset page (newest first) of the problems the actor sees, the next cursor and the total."""
    actor.require("support:read")
    today = today or date.today()
    if not 1 <= limit <= 1000:
        raise ValidationFailed.one("limit", "limit：每页条数须在 1–1000 之间")
    stmt = _filtered(actor, filters, today)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    if cursor:
        key, last_id = decode_cursor(cursor, "problems")
        if not isinstance(key, str):
            raise ValidationFailed.one("cursor", "分页游标无效")
        stmt = stmt.where(
            tuple_(ServiceProblem.raised_date, ServiceProblem.id) < tuple_(date.fromisoformat(key), last_id)
        )
    rows = session.execute(
        stmt.order_by(ServiceProblem.raised_date.desc(), ServiceProblem.id.desc()).limit(limit + 1)
    ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    out = [ProblemRow(p, n, u, is_overdue(p, today)) for p, n, u in rows]
    nxt = (
        encode_cursor("problems", out[-1].problem.raised_date.isoformat(), out[-1].problem.id)
        if more and out
        else None
    )
    return out, nxt, int(total)


def enterprise_of(session: Session, problem: ServiceProblem) -> tuple[str, str]:
    """(name, USCC) of the problem's enterprise (the problem itself was already checked for visibility)."""
    name, uscc = session.execute(
        select(Enterprise.name, Enterprise.uscc).where(Enterprise.id == problem.enterprise_id)
    ).one()
    return name, uscc


def steps(session: Session, problem: ServiceProblem) -> list[ProblemStep]:
    return list(
        session.scalars(
            select(ProblemStep).where(ProblemStep.problem_id == problem.id).order_by(ProblemStep.id)
        )
    )


def attachments(session: Session, problem: ServiceProblem) -> list[tuple[int, str, int, str]]:
    return [
        tuple(r)
        for r in session.execute(
            select(
                ProblemAttachment.id,
                ProblemAttachment.file_name,
                ProblemAttachment.size_bytes,
                ProblemAttachment.uploaded_by,
            )
            .where(ProblemAttachment.problem_id == problem.id)
            .order_by(ProblemAttachment.id)
        )
    ]


@dataclass
class Counts:
    open: int
    overdue: int
    closed: int
    total: int


def counts(
    session: Session, *, actor: Principal, today: date | None = None, township: str | None = None
) -> Counts:
    """Dashboard counts of the problems the actor sees: one query."""
    actor.require("support:read")
    today = today or date.today()
    P = ServiceProblem
    stmt = select(
        func.count(case((P.status.in_(OPEN_STATUSES), 1))),
        func.count(case((overdue_clause(today), 1))),
        func.count(case((P.status == "closed", 1))),
        func.count(P.id),
    ).where(visible(actor))
    if township:
        stmt = stmt.where(P.township == township)
    o, d, c, t = session.execute(stmt).one()
    return Counts(int(o), int(d), int(c), int(t))


def overdue_by_unit(
    session: Session, *, actor: Principal, today: date | None = None
) -> list[tuple[str, str, int]]:
    """(unit kind, unit, overdue count) for every unit with an overdue problem, most first."""
    actor.require("support:read")
    today = today or date.today()
    P = ServiceProblem
    rows = session.execute(
        select(P.unit_kind, P.unit, func.count(P.id))
        .where(visible(actor), overdue_clause(today))
        .group_by(P.unit_kind, P.unit)
        .order_by(func.count(P.id).desc(), P.unit)
    ).all()
    return [(k, u, int(n)) for k, u, n in rows]


def unit_label(unit_kind: str, unit: str) -> str:
    return township_names().get(unit, unit) if unit_kind == "township" else unit


def departments() -> tuple[str, ...]:
    return DEPARTMENTS


# --- reports ---------------------------------------------------------------------------------


@dataclass
class StatRow:
    key: str
    label: str
    total: int
    open: int
    overdue: int
    resolved: int  # resolved or closed
    closed: int
    returned: int
    late: int  # resolved after the deadline, or still open past it
    days_to_close: float | None  # mean days from raised to resolved

    @property
    def overdue_rate(self) -> float | None:
        handled = self.total - self.returned
        return None if handled <= 0 else round(100 * self.late / handled, 1)


def _as_of_columns(as_of: date):
    """(status, resolved date) of each problem as they stood at the end of `as_of`: from its steps, the last one
    dated on or before that day (a problem resolved later was still open then)."""
    P, S = ServiceProblem, ProblemStep
    status = (
        select(S.to_status)
        .where(S.problem_id == P.id, S.step_date <= as_of)
        .order_by(S.step_date.desc(), S.id.desc())
        .limit(1)
        .correlate(P)
        .scalar_subquery()
    )
    resolved = (
        select(S.step_date)
        .where(S.problem_id == P.id, S.step_date <= as_of, S.action == "resolve")
        .order_by(S.step_date.desc(), S.id.desc())
        .limit(1)
        .correlate(P)
        .scalar_subquery()
    )
    return func.coalesce(status, "collected"), resolved


def _stat_columns(today: date, postgres: bool = True, as_of: date | None = None):
    """Counts by status; with `as_of`, the statuses as they stood that day (a past year's evaluation)."""
    P = ServiceProblem
    status, resolved_date = (P.status, P.resolved_date) if as_of is None else _as_of_columns(as_of)
    if as_of is not None:
        today = as_of
    done = status.in_(("resolved", "closed"))
    overdue = and_(status.in_(OPEN_STATUSES), P.deadline_date < today)
    late = or_(overdue, and_(done, resolved_date > P.deadline_date))
    # date − date gives days on PostgreSQL; SQLite stores dates as text, so count Julian days there.
    days = (
        (resolved_date - P.raised_date)
        if postgres
        else (func.julianday(resolved_date) - func.julianday(P.raised_date))
    )
    mean_days = func.avg(case((done, days)))
    return (
        func.count(P.id),
        func.count(case((status.in_(OPEN_STATUSES), 1))),
        func.count(case((overdue, 1))),
        func.count(case((done, 1))),
        func.count(case((status == "closed", 1))),
        func.count(case((status == "returned", 1))),
        func.count(case((late, 1))),
        mean_days,
    )


def stats(
    session: Session,
    *,
    actor: Principal,
    by: str,
    start: date | None = None,
    end: date | None = None,
    today: date | None = None,
    as_of: date | None = None,
) -> list[StatRow]:
    """Problems raised in [start, end] grouped by category, unit, township or month: one GROUP BY. With `as_of`
    (a past year's evaluation: its last day) each problem counts as it stood that day, not as it stands now, and
    problems raised after it are left out."""
    actor.require("support:read")
    today = today or date.today()
    P = ServiceProblem
    postgres = session.get_bind().dialect.name == "postgresql"
    month = func.to_char(P.raised_date, "YYYY-MM") if postgres else func.strftime("%Y-%m", P.raised_date)
    keys = {
        "category": (P.category,),
        "unit": (P.unit_kind, P.unit),
        "township": (P.township,),
        "month": (month,),
        "all": (),
    }
    if by not in keys:
        raise ValidationFailed.one("by", "by：应为 category、unit、township、month 或 all")
    cols = keys[by]
    stmt = select(*cols, *_stat_columns(today, postgres, as_of)).where(visible(actor))
    if as_of is not None:
        stmt = stmt.where(P.raised_date <= as_of)
    if start:
        stmt = stmt.where(P.raised_date >= start)
    if end:
        stmt = stmt.where(P.raised_date <= end)
    rows = session.execute(stmt.group_by(*cols).order_by(*cols) if cols else stmt).all()
    out = []
    names = township_names()
    for r in rows:
        if by == "all":
            key, label, rest = "total", "合计", r
        elif by == "unit":
            key, label, rest = f"{r[0]}:{r[1]}", unit_label(r[0], r[1]), r[2:]
        else:
            key, rest = r[0], r[1:]
            label = {"category": CATEGORY_NAMES.get(key, key), "township": names.get(key, key), "month": key}[
                by
            ]
        t, o, d, res, c, ret, late, days = rest
        out.append(
            StatRow(
                key,
                label,
                int(t),
                int(o),
                int(d),
                int(res),
                int(c),
                int(ret),
                int(late),
                None if days is None else round(float(days), 1),
            )
        )
    if by == "category":
        order = {k: i for i, k in enumerate(PROBLEM_CATEGORIES)}
        out.sort(key=lambda s: order.get(s.key, 99))
    return out
