"""服务专员 and their firms, the 助企远航 list, visits (走访) and diagnoses, and 一企一策 plans.

- 冠政办发〔2023〕7号 二（四）11: county departments send 服务专员 to 定点帮包 firms; the county's 助企远航 list
  grew to 46 firms. An assignment runs from its start date until the firm is reassigned (history kept).
- 冠政发〔2022〕9号 四（六）, 冠政办发〔2023〕7号 三（三）: 驻企特派员 with 定期走访.
- 冠政发〔2022〕9号 四（七）, 冠政办发〔2023〕7号 二（四）10: expert diagnosis and a 一企一策 plan whose tasks are
  followed to completion; a task still open after its due date is overdue.

The dashboards read "firms without a visit in N days" among the firms that have a 专员 or are on the
助企远航 list, and plans with overdue tasks — each one query.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from app.accounts.permissions import Principal
from app.audit import service as audit
from app.enterprises import service as enterprise_service
from app.enterprises.models import Enterprise
from app.enterprises.visibility import visible_to
from app.errors import Conflict, FieldError, NotFound, ValidationFailed
from app.support.models import (
    ImprovementPlan,
    OfficerAssignment,
    PlanTask,
    ServiceOfficer,
    ServiceVisit,
    VoyageListing,
)

DEFAULT_QUIET_DAYS = 90
VOYAGE_SOURCE = (
    "冠政办发〔2023〕7号 二（四）11：市《关于开展助企远航行动的通知》，冠县助企远航行动企业增至 46 家"
)
PHONE = __import__("re").compile(r"^[0-9\-]{7,20}$")


def _ent(session: Session, actor: Principal, enterprise_id: int) -> Enterprise:
    return enterprise_service.get(session, actor=actor, enterprise_id=enterprise_id, with_details=False)


def _visible_ent(actor: Principal):
    """The firms the actor sees: a township's, a county department's (its 服务专员's firms), or all."""
    return visible_to(actor)


def _text(
    v: str | None, field: str, label: str, n: int, errors: list[FieldError], required: bool = True
) -> str | None:
    v = (v or "").strip()
    if not v:
        if required:
            errors.append(FieldError(field, f"{label}：必填"))
        return None
    if len(v) > n:
        errors.append(FieldError(field, f"{label}：不超过 {n} 字"))
    return v


def _not_future(d: date, field: str, label: str, today: date, errors: list[FieldError]) -> None:
    if d > today:
        errors.append(FieldError(field, f"{label} {d} 晚于今天"))


# --- officers and assignments -------------------------------------------------------------------


def create_officer(
    session: Session, *, actor: Principal, name: str, department: str, phone: str | None
) -> ServiceOfficer:
    """A 服务专员 (county administrators: officers are sent by county departments)."""
    actor.require("support:write")
    if not actor.is_county:
        raise ValidationFailed.one("department", "服务专员由县直部门选派，请由县级管理员登记")
    errors: list[FieldError] = []
    name = _text(name, "name", "姓名", 50, errors)
    department = _text(department, "department", "派出单位", 60, errors)
    phone = (phone or "").strip() or None
    if phone and not PHONE.match(phone):
        errors.append(FieldError("phone", f"联系电话“{phone}”格式不对"))
    if errors:
        raise ValidationFailed(errors)
    o = ServiceOfficer(name=name, department=department, phone=phone)
    session.add(o)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="create",
        entity_type="service_officer",
        entity_id=o.id,
        changes={"name": [None, name], "department": [None, department]},
    )
    return o


def _own_officers(actor: Principal):
    """County department staff see their department's 服务专员 only."""
    return (
        ServiceOfficer.department == actor.department
        if actor.department is not None
        else ServiceOfficer.id.is_not(None)
    )


def officers(session: Session, *, actor: Principal) -> list[ServiceOfficer]:
    actor.require("support:read")
    return list(
        session.scalars(
            select(ServiceOfficer)
            .where(_own_officers(actor))
            .order_by(ServiceOfficer.department, ServiceOfficer.name)
        )
    )


def get_officer(session: Session, *, actor: Principal, officer_id: int) -> ServiceOfficer:
    actor.require("support:read")
    o = session.get(ServiceOfficer, officer_id) if 0 < officer_id < 2**31 else None
    if o is None or (actor.department is not None and o.department != actor.department):
        raise NotFound("未找到该服务专员")
    return o


def assign_officer(
    session: Session,
    *,
    actor: Principal,
    enterprise_id: int,
    officer_id: int,
    start_date: date | None = None,
    note: str | None = None,
    today: date | None = None,
) -> OfficerAssignment:
    """定点帮包: the officer takes the firm from start_date; the current assignment ends the day before."""
    actor.require("support:write")
    today = today or date.today()
    start_date = start_date or today
    ent = _ent(session, actor, enterprise_id)
    officer = session.get(ServiceOfficer, officer_id) if 0 < officer_id < 2**31 else None
    if officer is None:
        raise ValidationFailed.one("officer_id", f"未找到服务专员 {officer_id}")
    if actor.department is not None and officer.department != actor.department:
        raise ValidationFailed.one("officer_id", f"只能指派本部门（{actor.department}）的服务专员")
    current = session.scalar(
        select(OfficerAssignment)
        .where(OfficerAssignment.enterprise_id == ent.id, OfficerAssignment.end_date.is_(None))
        .with_for_update()
    )
    if current is not None:
        if current.officer_id == officer.id:
            raise Conflict(
                f"{officer.name} 已是该企业的服务专员", errors=[FieldError("officer_id", "与现任专员相同")]
            )
        if start_date <= current.start_date:
            raise ValidationFailed.one("start_date", f"开始日期须晚于现任专员的开始日期 {current.start_date}")
        current.end_date = start_date - timedelta(days=1)
    a = OfficerAssignment(
        enterprise_id=ent.id,
        officer_id=officer.id,
        start_date=start_date,
        note=(note or "").strip() or None,
        created_by=actor.name,
    )
    session.add(a)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="assign_officer",
        entity_type="officer_assignment",
        entity_id=a.id,
        enterprise_id=ent.id,
        township=ent.township,
        changes={
            "officer": [None if current is None else current.officer_id, officer.id],
            "start_date": [None, start_date],
        },
        note=f"{officer.department} {officer.name}",
    )
    return a


def assignments(
    session: Session, *, actor: Principal, enterprise_id: int
) -> list[tuple[OfficerAssignment, ServiceOfficer]]:
    """The firm's officers, current first, with the history of reassignments."""
    _ent(session, actor, enterprise_id)
    return [
        tuple(r)
        for r in session.execute(
            select(OfficerAssignment, ServiceOfficer)
            .join(ServiceOfficer, ServiceOfficer.id == OfficerAssignment.officer_id)
            .where(OfficerAssignment.enterprise_id == enterprise_id)
            .order_by(OfficerAssignment.end_date.is_not(None), OfficerAssignment.start_date.desc())
        )
    ]


# --- 助企远航 -------------------------------------------------------------------------------------


def list_voyage(
    session: Session,
    *,
    actor: Principal,
    enterprise_id: int,
    source: str | None = None,
    listed_date: date | None = None,
    today: date | None = None,
) -> VoyageListing:
    actor.require("support:write")
    if not actor.is_county:
        raise ValidationFailed.one("enterprise_id", "助企远航企业名单由县级确定")
    today = today or date.today()
    ent = _ent(session, actor, enterprise_id)
    if session.scalar(select(VoyageListing.id).where(VoyageListing.enterprise_id == ent.id)):
        raise Conflict("该企业已在助企远航名单中", errors=[FieldError("enterprise_id", "已在名单中")])
    v = VoyageListing(
        enterprise_id=ent.id,
        source=(source or VOYAGE_SOURCE).strip()[:300],
        listed_date=listed_date or today,
        created_by=actor.name,
    )
    session.add(v)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="list_voyage",
        entity_type="voyage_listing",
        entity_id=v.id,
        enterprise_id=ent.id,
        township=ent.township,
        changes={"source": [None, v.source]},
    )
    return v


def voyage_count(session: Session, *, actor: Principal) -> int:
    return (
        session.scalar(
            select(func.count(VoyageListing.id))
            .join(Enterprise, Enterprise.id == VoyageListing.enterprise_id)
            .where(_visible_ent(actor))
        )
        or 0
    )


def voyage_of(session: Session, enterprise_id: int) -> VoyageListing | None:
    return session.scalar(select(VoyageListing).where(VoyageListing.enterprise_id == enterprise_id))


# --- visits ------------------------------------------------------------------------------------


def record_visit(
    session: Session,
    *,
    actor: Principal,
    enterprise_id: int,
    visit_date: date,
    visitors: str,
    findings: str,
    kind: str = "visit",
    officer_id: int | None = None,
    today: date | None = None,
) -> ServiceVisit:
    actor.require("support:write")
    today = today or date.today()
    ent = _ent(session, actor, enterprise_id)
    errors: list[FieldError] = []
    if kind not in ("visit", "diagnosis"):
        errors.append(FieldError("kind", "类型应为 visit（走访）或 diagnosis（专家诊断）"))
    visitors = _text(visitors, "visitors", "走访人员", 200, errors)
    findings = _text(findings, "findings", "走访情况", 5000, errors)
    _not_future(visit_date, "visit_date", "走访日期", today, errors)
    if officer_id is not None and (
        not 0 < officer_id < 2**31 or session.get(ServiceOfficer, officer_id) is None
    ):
        errors.append(FieldError("officer_id", f"未找到服务专员 {officer_id}"))
    if errors:
        raise ValidationFailed(errors)
    v = ServiceVisit(
        enterprise_id=ent.id,
        township=ent.township,
        kind=kind,
        visit_date=visit_date,
        officer_id=officer_id,
        visitors=visitors,
        findings=findings,
        created_by=actor.name,
    )
    session.add(v)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="create",
        entity_type="service_visit",
        entity_id=v.id,
        enterprise_id=ent.id,
        township=ent.township,
        changes={"kind": [None, kind], "visit_date": [None, visit_date], "visitors": [None, visitors]},
    )
    return v


def _sees_firm(session: Session, actor: Principal, enterprise_id: int, township: str) -> bool:
    """A row of this firm is the actor's: their township's, or (county departments) a firm of their 服务专员."""
    if actor.department is not None:
        return (
            session.scalar(select(Enterprise.id).where(Enterprise.id == enterprise_id, visible_to(actor)))
            is not None
        )
    return actor.sees_township(township)


def get_visit(session: Session, *, actor: Principal, visit_id: int) -> ServiceVisit:
    actor.require("support:read")
    v = session.get(ServiceVisit, visit_id) if 0 < visit_id < 2**31 else None
    if v is None or not _sees_firm(session, actor, v.enterprise_id, v.township):
        raise NotFound("未找到该走访记录")
    return v


def enterprise_visits(
    session: Session, *, actor: Principal, enterprise_id: int, limit: int = 50
) -> list[ServiceVisit]:
    _ent(session, actor, enterprise_id)
    return list(
        session.scalars(
            select(ServiceVisit)
            .where(ServiceVisit.enterprise_id == enterprise_id)
            .order_by(ServiceVisit.visit_date.desc(), ServiceVisit.id.desc())
            .limit(limit)
        )
    )


def recent_visits(session: Session, *, actor: Principal, limit: int = 50) -> list[tuple[ServiceVisit, str]]:
    actor.require("support:read")
    stmt = (
        select(ServiceVisit, Enterprise.name)
        .join(Enterprise, Enterprise.id == ServiceVisit.enterprise_id)
        .where(_visible_ent(actor))
    )
    return [
        tuple(r)
        for r in session.execute(
            stmt.order_by(ServiceVisit.visit_date.desc(), ServiceVisit.id.desc()).limit(limit)
        )
    ]


# --- 一企一策 plans --------------------------------------------------------------------------------


def create_plan(
    session: Session,
    *,
    actor: Principal,
    enterprise_id: int,
    title: str,
    tasks: list[tuple[str, date]],
    plan_date: date | None = None,
    visit_id: int | None = None,
    today: date | None = None,
) -> ImprovementPlan:
    """A plan with its tasks (title, due date); at least one task."""
    actor.require("support:write")
    today = today or date.today()
    plan_date = plan_date or today
    ent = _ent(session, actor, enterprise_id)
    errors: list[FieldError] = []
    title = _text(title, "title", "方案名称", 200, errors)
    _not_future(plan_date, "plan_date", "制定日期", today, errors)
    clean = [(t.strip(), d) for t, d in tasks if t and t.strip()]
    if not clean:
        errors.append(FieldError("tasks", "至少填写一项任务及完成期限"))
    for i, (t, d) in enumerate(clean, start=1):
        if len(t) > 300:
            errors.append(FieldError(f"tasks.{i}.title", f"第 {i} 项任务：不超过 300 字"))
        if d is None:
            errors.append(FieldError(f"tasks.{i}.due_date", f"第 {i} 项任务：缺少完成期限"))
        elif d < plan_date:
            errors.append(
                FieldError(f"tasks.{i}.due_date", f"第 {i} 项任务：完成期限 {d} 早于制定日期 {plan_date}")
            )
    if visit_id is not None:
        v = session.get(ServiceVisit, visit_id) if 0 < visit_id < 2**31 else None
        if v is None or v.enterprise_id != ent.id:
            errors.append(FieldError("visit_id", "所填诊断/走访记录不存在或不属于该企业"))
    if errors:
        raise ValidationFailed(errors)
    plan = ImprovementPlan(
        enterprise_id=ent.id,
        township=ent.township,
        visit_id=visit_id,
        title=title,
        plan_date=plan_date,
        created_by=actor.name,
    )
    session.add(plan)
    session.flush()
    for t, d in clean:
        session.add(PlanTask(plan_id=plan.id, title=t, due_date=d))
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="create",
        entity_type="improvement_plan",
        entity_id=plan.id,
        enterprise_id=ent.id,
        township=ent.township,
        changes={"title": [None, title], "tasks": [None, len(clean)]},
    )
    return plan


def complete_task(
    session: Session,
    *,
    actor: Principal,
    task_id: int,
    done_date: date | None = None,
    note: str | None = None,
    today: date | None = None,
) -> PlanTask:
    actor.require("support:write")
    today = today or date.today()
    done_date = done_date or today
    task = session.get(PlanTask, task_id) if 0 < task_id < 2**31 else None
    plan = session.get(ImprovementPlan, task.plan_id) if task else None
    if task is None or plan is None or not _sees_firm(session, actor, plan.enterprise_id, plan.township):
        raise NotFound("未找到该任务")
    if task.done_date is not None:
        raise Conflict(f"任务已于 {task.done_date} 完成", errors=[FieldError("done_date", "任务已完成")])
    if done_date > today or done_date < plan.plan_date:
        raise ValidationFailed.one(
            "done_date", f"完成日期 {done_date} 应在制定日期 {plan.plan_date} 与今天之间"
        )
    task.done_date = done_date
    task.note = (note or "").strip() or None
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="task_done",
        entity_type="plan_task",
        entity_id=task.id,
        enterprise_id=plan.enterprise_id,
        township=plan.township,
        changes={"done_date": [None, done_date]},
        note=task.title,
    )
    return task


@dataclass
class PlanView:
    plan: ImprovementPlan
    tasks: list[PlanTask]
    enterprise_name: str = ""

    def overdue_tasks(self, today: date) -> list[PlanTask]:
        return [t for t in self.tasks if t.done_date is None and t.due_date < today]

    @property
    def done(self) -> int:
        return sum(1 for t in self.tasks if t.done_date is not None)

    @property
    def complete(self) -> bool:
        return bool(self.tasks) and self.done == len(self.tasks)


def enterprise_plans(session: Session, *, actor: Principal, enterprise_id: int) -> list[PlanView]:
    _ent(session, actor, enterprise_id)
    plans = list(
        session.scalars(
            select(ImprovementPlan)
            .where(ImprovementPlan.enterprise_id == enterprise_id)
            .order_by(ImprovementPlan.plan_date.desc(), ImprovementPlan.id.desc())
        )
    )
    return _with_tasks(session, plans)


def _with_tasks(
    session: Session, plans: list[ImprovementPlan], names: dict[int, str] | None = None
) -> list[PlanView]:
    if not plans:
        return []
    tasks: dict[int, list[PlanTask]] = {}
    for t in session.scalars(
        select(PlanTask)
        .where(PlanTask.plan_id.in_([p.id for p in plans]))
        .order_by(PlanTask.due_date, PlanTask.id)
    ):
        tasks.setdefault(t.plan_id, []).append(t)
    return [PlanView(p, tasks.get(p.id, []), (names or {}).get(p.id, "")) for p in plans]


def overdue_task_clause(today: date):
    return and_(PlanTask.done_date.is_(None), PlanTask.due_date < today)


def plans_with_overdue_tasks(
    session: Session,
    *,
    actor: Principal,
    today: date | None = None,
    officer_id: int | None = None,
    limit: int = 200,
) -> list[PlanView]:
    actor.require("support:read")
    today = today or date.today()
    stmt = (
        select(ImprovementPlan, Enterprise.name)
        .join(Enterprise, Enterprise.id == ImprovementPlan.enterprise_id)
        .where(
            _visible_ent(actor),
            exists().where(PlanTask.plan_id == ImprovementPlan.id, overdue_task_clause(today)),
        )
    )
    if officer_id is not None:
        stmt = stmt.where(ImprovementPlan.enterprise_id.in_(_officer_firms(officer_id)))
    rows = session.execute(stmt.order_by(ImprovementPlan.plan_date, ImprovementPlan.id).limit(limit)).all()
    return _with_tasks(session, [p for p, _ in rows], {p.id: n for p, n in rows})


def _officer_firms(officer_id: int):
    return select(OfficerAssignment.enterprise_id).where(
        OfficerAssignment.officer_id == officer_id, OfficerAssignment.end_date.is_(None)
    )


# --- dashboards -----------------------------------------------------------------------------------


@dataclass
class QuietFirm:
    enterprise_id: int
    name: str
    township: str
    officer: str | None
    last_visit: date | None

    def days_since(self, today: date) -> int | None:
        return None if self.last_visit is None else (today - self.last_visit).days


def quiet_firms(
    session: Session,
    *,
    actor: Principal,
    days: int = DEFAULT_QUIET_DAYS,
    today: date | None = None,
    officer_id: int | None = None,
    limit: int = 500,
) -> tuple[list[QuietFirm], int]:
    """Firms with a 专员 or on the 助企远航 list that nobody visited in the last `days` days (one query), and how many."""
    actor.require("support:read")
    if not 1 <= days <= 3650:
        raise ValidationFailed.one("days", "days：天数须在 1–3650 之间")
    today = today or date.today()
    last = (
        select(ServiceVisit.enterprise_id, func.max(ServiceVisit.visit_date).label("last"))
        .group_by(ServiceVisit.enterprise_id)
        .subquery()
    )
    cur = (
        select(
            OfficerAssignment.enterprise_id,
            ServiceOfficer.name.label("officer"),
            ServiceOfficer.id.label("officer_id"),
        )
        .join(ServiceOfficer, ServiceOfficer.id == OfficerAssignment.officer_id)
        .where(OfficerAssignment.end_date.is_(None))
        .subquery()
    )
    followed = or_(
        cur.c.enterprise_id.is_not(None), exists().where(VoyageListing.enterprise_id == Enterprise.id)
    )
    stmt = (
        select(Enterprise.id, Enterprise.name, Enterprise.township, cur.c.officer, last.c.last)
        .outerjoin(cur, cur.c.enterprise_id == Enterprise.id)
        .outerjoin(last, last.c.enterprise_id == Enterprise.id)
        .where(
            _visible_ent(actor),
            followed,
            or_(last.c.last.is_(None), last.c.last < today - timedelta(days=days)),
        )
    )
    if officer_id is not None:
        stmt = stmt.where(cur.c.officer_id == officer_id)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.execute(stmt.order_by(last.c.last.nulls_first(), Enterprise.name).limit(limit)).all()
    return [QuietFirm(*r) for r in rows], int(total)


@dataclass
class OfficerLoad:
    officer: ServiceOfficer
    firms: int
    visits: int  # in the last `days` days
    quiet: int
    overdue_plans: int


def officer_board(
    session: Session,
    *,
    actor: Principal,
    days: int = DEFAULT_QUIET_DAYS,
    today: date | None = None,
    as_of: date | None = None,
) -> list[OfficerLoad]:
    """Per officer: current firms (that the actor sees), visits in the window, quiet firms, plans with overdue tasks.
    With `as_of` (a past year's evaluation) the firms each officer had that day, the window ending then."""
    actor.require("support:read")
    today = as_of or today or date.today()
    since = today - timedelta(days=days)
    A = OfficerAssignment
    held = (
        A.end_date.is_(None)
        if as_of is None
        else and_(A.start_date <= as_of, or_(A.end_date.is_(None), A.end_date >= as_of))
    )
    firm = and_(
        held,
        A.officer_id == ServiceOfficer.id,
        A.enterprise_id.in_(select(Enterprise.id).where(_visible_ent(actor))),
    )
    firms = select(func.count(A.id)).where(firm).correlate(ServiceOfficer).scalar_subquery()
    visits = (
        select(func.count(ServiceVisit.id))
        .join(A, A.enterprise_id == ServiceVisit.enterprise_id)
        .where(firm, ServiceVisit.visit_date.between(since, today))
        .correlate(ServiceOfficer)
        .scalar_subquery()
    )
    recent = select(ServiceVisit.enterprise_id).where(ServiceVisit.visit_date.between(since, today))
    quiet = (
        select(func.count(A.id))
        .where(firm, A.enterprise_id.not_in(recent))
        .correlate(ServiceOfficer)
        .scalar_subquery()
    )
    late = (
        select(func.count(func.distinct(ImprovementPlan.id)))
        .join(A, A.enterprise_id == ImprovementPlan.enterprise_id)
        .join(PlanTask, PlanTask.plan_id == ImprovementPlan.id)
        .where(firm, or_(PlanTask.done_date.is_(None), PlanTask.done_date > today), PlanTask.due_date < today)
        .correlate(ServiceOfficer)
        .scalar_subquery()
    )
    rows = session.execute(
        select(ServiceOfficer, firms, visits, quiet, late)
        .where(_own_officers(actor))
        .order_by(ServiceOfficer.department, ServiceOfficer.name)
    ).all()
    return [
        OfficerLoad(o, int(f), int(v), int(q), int(lt)) for o, f, v, q, lt in rows if f or actor.is_county
    ]


@dataclass
class VisitCounts:
    visits: int
    diagnoses: int
    firms_visited: int
    plans: int
    tasks_done: int
    tasks_overdue: int


def visit_counts(
    session: Session, *, actor: Principal, start: date, end: date, today: date | None = None
) -> VisitCounts:
    """Visits, diagnoses and plans dated in [start, end], with plan tasks done and overdue (for the yearly evaluation)."""
    actor.require("support:read")
    today = today or date.today()
    V = ServiceVisit
    seen = select(Enterprise.id).where(_visible_ent(actor))
    v = session.execute(
        select(
            func.count(V.id).filter(V.kind == "visit"),
            func.count(V.id).filter(V.kind == "diagnosis"),
            func.count(func.distinct(V.enterprise_id)),
        ).where(V.visit_date.between(start, end), V.enterprise_id.in_(seen))
    ).one()
    as_of = min(today, end)  # a past period's tasks as they stood on its last day
    p = session.execute(
        select(
            func.count(func.distinct(ImprovementPlan.id)),
            func.count(PlanTask.id).filter(PlanTask.done_date <= as_of),
            func.count(PlanTask.id).filter(
                or_(PlanTask.done_date.is_(None), PlanTask.done_date > as_of),
                PlanTask.due_date < min(today, end + timedelta(days=1)),
            ),
        )
        .outerjoin(PlanTask, PlanTask.plan_id == ImprovementPlan.id)
        .where(ImprovementPlan.plan_date.between(start, end), ImprovementPlan.enterprise_id.in_(seen))
    ).one()
    return VisitCounts(int(v[0]), int(v[1]), int(v[2]), int(p[0]), int(p[1]), int(p[2]))
