"""JSON API of 服务专员, 助企远航, visits and 一企一策 plans (/api/v1/support)."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.accounts.permissions import Principal
from app.api.problems import responses
from app.deps import SessionDep, scoped
from app.enterprises.schemas import IsoDate, Whole
from app.support import visits

router = APIRouter(prefix="/api/v1/support", tags=["support 助企服务"])

Read = Annotated[Principal, scoped("support:read")]
Write = Annotated[Principal, scoped("support:write")]
Id = Field(ge=1, le=2**31 - 1)


class OfficerIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=50)
    department: str = Field(min_length=1, max_length=60, description="派出单位（县直部门）")
    # Not stripped by the model (the service strips it), so that maxLength holds for what is sent.
    phone: Annotated[str | None, StringConstraints(strip_whitespace=False)] = Field(
        default=None, max_length=20, pattern=r"^\s*([0-9-]{7,20})?\s*$", description="联系电话：数字和连字符"
    )


class OfficerRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    department: str
    phone: str | None


class AssignmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enterprise_id: Whole = Id
    officer_id: Whole = Id
    start_date: IsoDate | None = Field(
        default=None, description="开始日期，默认今天；现任专员的帮包到前一天结束"
    )
    note: str | None = Field(default=None, max_length=500)


class AssignmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    enterprise_id: int
    officer_id: int
    start_date: date
    end_date: date | None


class VisitIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    enterprise_id: Whole = Id
    kind: str = Field(
        default="visit", pattern="^(visit|diagnosis)$", description="visit 走访、diagnosis 专家诊断"
    )
    visit_date: IsoDate
    visitors: str = Field(min_length=1, max_length=200)
    findings: str = Field(min_length=1, max_length=5000)
    officer_id: Whole | None = Field(default=None, ge=1, le=2**31 - 1)


class VisitRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    enterprise_id: int
    township: str
    kind: str
    visit_date: date
    visitors: str
    findings: str
    officer_id: int | None


class TaskIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=1, max_length=300)
    due_date: IsoDate


class PlanIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    enterprise_id: Whole = Id
    title: str = Field(min_length=1, max_length=200)
    plan_date: IsoDate | None = None
    visit_id: Whole | None = Field(default=None, ge=1, le=2**31 - 1)
    tasks: list[TaskIn] = Field(min_length=1, max_length=50)


class TaskRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    due_date: date
    done_date: date | None


class PlanRead(BaseModel):
    id: int
    enterprise_id: int
    title: str
    plan_date: date
    visit_id: int | None
    tasks: list[TaskRead]
    overdue_tasks: int


class TaskDoneIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    done_date: IsoDate | None = None
    note: str | None = Field(default=None, max_length=2000)


class QuietFirmRead(BaseModel):
    enterprise_id: int
    name: str
    township: str
    officer: str | None
    last_visit: date | None


def plan_read(pv: visits.PlanView) -> PlanRead:
    p = pv.plan
    return PlanRead(
        id=p.id,
        enterprise_id=p.enterprise_id,
        title=p.title,
        plan_date=p.plan_date,
        visit_id=p.visit_id,
        tasks=[TaskRead.model_validate(t) for t in pv.tasks],
        overdue_tasks=len(pv.overdue_tasks(date.today())),
    )


@router.get(
    "/officers",
    summary="服务专员名单",
    response_model=list[OfficerRead],
    responses=responses(401, 403, 422, 429),
)
def list_officers(session: SessionDep, principal: Read):
    """县直部门选派、定点帮包企业的服务专员（冠政办发〔2023〕7号 二（四）11）。"""
    return [OfficerRead.model_validate(o) for o in visits.officers(session, actor=principal)]


@router.post(
    "/officers",
    summary="登记服务专员",
    status_code=201,
    response_model=OfficerRead,
    responses=responses(401, 403, 422, 429),
)
def create_officer(data: OfficerIn, session: SessionDep, principal: Write):
    """县级登记；联系电话为数字与连字符。"""
    return OfficerRead.model_validate(
        visits.create_officer(
            session, actor=principal, name=data.name, department=data.department, phone=data.phone
        )
    )


@router.post(
    "/assignments",
    summary="指派或更换企业的服务专员",
    status_code=201,
    response_model=AssignmentRead,
    responses=responses(401, 403, 404, 409, 422, 429),
)
def assign(data: AssignmentIn, session: SessionDep, principal: Write):
    """更换时原专员的帮包到新开始日期的前一天结束，历史保留。"""
    return AssignmentRead.model_validate(
        visits.assign_officer(
            session,
            actor=principal,
            enterprise_id=data.enterprise_id,
            officer_id=data.officer_id,
            start_date=data.start_date,
            note=data.note,
        )
    )


@router.post(
    "/visits",
    summary="登记走访或专家诊断",
    status_code=201,
    response_model=VisitRead,
    responses=responses(401, 403, 404, 422, 429),
)
def record_visit(data: VisitIn, session: SessionDep, principal: Write):
    """其他乡镇的企业返回 404；走访日期不能晚于今天。走访中收集的诉求以 `visit_id` 提交到 /problems。"""
    return VisitRead.model_validate(
        visits.record_visit(
            session,
            actor=principal,
            enterprise_id=data.enterprise_id,
            visit_date=data.visit_date,
            visitors=data.visitors,
            findings=data.findings,
            kind=data.kind,
            officer_id=data.officer_id,
        )
    )


@router.get(
    "/visits/{visit_id}",
    summary="一条走访记录",
    response_model=VisitRead,
    responses=responses(401, 403, 404, 422, 429),
)
def get_visit(visit_id: Annotated[int, Path(ge=1, le=2**31 - 1)], session: SessionDep, principal: Read):
    """其他乡镇的走访记录返回 404。"""
    return VisitRead.model_validate(visits.get_visit(session, actor=principal, visit_id=visit_id))


@router.get(
    "/quiet-firms",
    summary="N 天内未走访的帮包企业",
    response_model=list[QuietFirmRead],
    responses=responses(401, 403, 422, 429),
)
def quiet_firms(
    session: SessionDep,
    principal: Read,
    days: Annotated[int, Query(ge=1, le=3650)] = visits.DEFAULT_QUIET_DAYS,
    officer_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
):
    """有服务专员或列入助企远航名单、但 `days` 天内没有走访记录的企业，从未走访的在前。"""
    rows, _ = visits.quiet_firms(session, actor=principal, days=days, officer_id=officer_id)
    return [QuietFirmRead(**r.__dict__) for r in rows]


@router.post(
    "/plans",
    summary="制定“一企一策”提升方案",
    status_code=201,
    response_model=PlanRead,
    responses=responses(401, 403, 404, 422, 429),
)
def create_plan(data: PlanIn, session: SessionDep, principal: Write):
    """方案含若干任务及完成期限；任务逾期未完成会出现在专员和全县的看板上。"""
    plan = visits.create_plan(
        session,
        actor=principal,
        enterprise_id=data.enterprise_id,
        title=data.title,
        tasks=[(t.title, t.due_date) for t in data.tasks],
        plan_date=data.plan_date,
        visit_id=data.visit_id,
    )
    return plan_read(visits._with_tasks(session, [plan])[0])


@router.get(
    "/plans/overdue",
    summary="有逾期任务的“一企一策”方案",
    response_model=list[PlanRead],
    responses=responses(401, 403, 422, 429),
)
def overdue_plans(
    session: SessionDep, principal: Read, officer_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None
):
    """乡镇工作人员只看到本乡镇企业的方案。"""
    return [
        plan_read(pv)
        for pv in visits.plans_with_overdue_tasks(session, actor=principal, officer_id=officer_id)
    ]


@router.post(
    "/plan-tasks/{task_id}/done",
    summary="完成方案中的一项任务",
    response_model=TaskRead,
    responses=responses(401, 403, 404, 409, 422, 429),
)
def task_done(
    task_id: Annotated[int, Path(ge=1, le=2**31 - 1)], data: TaskDoneIn, session: SessionDep, principal: Write
):
    """已完成的任务再次提交返回 409。"""
    return TaskRead.model_validate(
        visits.complete_task(
            session, actor=principal, task_id=task_id, done_date=data.done_date, note=data.note
        )
    )
