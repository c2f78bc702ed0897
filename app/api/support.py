"""JSON API of 助企服务: the 服务直通车 problems (/api/v1/support/problems), for staff tools and the municipal
platform, which submits a problem on behalf of an enterprise by its 统一社会信用代码 and reads its status."""

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from app.accounts.permissions import Principal
from app.api.problems import responses
from app.deps import SessionDep, scoped
from app.enterprises import service as enterprise_service
from app.enterprises.schemas import IsoDate
from app.errors import ValidationFailed
from app.pagination import Cursor
from app.support import problems as service
from app.support.labels import STATUS_NAMES
from app.support.schemas import (
    Category,
    ProblemIn,
    ProblemPage,
    ProblemRead,
    ProblemStatusFilter,
    StatRead,
    StepIn,
    StepRead,
)

router = APIRouter(prefix="/api/v1/support", tags=["support 助企服务"])

Read = Annotated[Principal, scoped("support:read")]
Write = Annotated[Principal, scoped("support:write")]
ProblemId = Annotated[int, Path(ge=1, le=2**31 - 1, description="诉求 id")]


def problem_read(p, name: str, uscc: str, overdue: bool, steps=None) -> ProblemRead:
    return ProblemRead(
        id=p.id,
        enterprise_id=p.enterprise_id,
        uscc=uscc,
        enterprise_name=name,
        township=p.township,
        category=p.category,
        title=p.title,
        description=p.description,
        raised_by=p.raised_by,
        channel=p.channel,
        raised_date=p.raised_date,
        unit_kind=p.unit_kind,
        unit=p.unit,
        deadline_date=p.deadline_date,
        status=p.status,
        status_name=STATUS_NAMES[p.status],
        overdue=overdue,
        resolution=p.resolution,
        return_reason=p.return_reason,
        resolved_date=p.resolved_date,
        closed_date=p.closed_date,
        external_ref=p.external_ref,
        steps=None if steps is None else [StepRead.model_validate(s) for s in steps],
    )


def _full(session, principal, p) -> ProblemRead:
    name, uscc = service.enterprise_of(session, p)
    return problem_read(p, name, uscc, service.is_overdue(p, date.today()), service.steps(session, p))


@router.get(
    "/problems",
    summary="服务直通车诉求列表（游标分页）",
    response_model=ProblemPage,
    responses=responses(401, 403, 422, 429),
)
def list_problems(
    session: SessionDep,
    principal: Read,
    status: Annotated[ProblemStatusFilter | None, Query(description="状态，或 open（未办结的）")] = None,
    category: Annotated[Category | None, Query(description="类别")] = None,
    township: Annotated[str | None, Query(max_length=20, description="企业所在乡镇代码")] = None,
    unit: Annotated[str | None, Query(max_length=60, description="责任单位")] = None,
    overdue: Annotated[bool, Query(description="只看超期未办结的")] = False,
    uscc: Annotated[str | None, Query(max_length=18, description="企业统一社会信用代码")] = None,
    external_ref: Annotated[str | None, Query(max_length=100, description="平台侧编号")] = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
):
    """按反映日期从新到旧。`overdue=true` 为超过办理时限仍未办结（已收集、已交办、办理中）的诉求。乡镇工作人员只看到本乡镇企业的和交办给本乡镇的诉求。"""
    f = service.ProblemFilters(
        status=status,
        category=category,
        township=township,
        unit=unit,
        overdue=overdue,
        uscc=uscc,
        external_ref=external_ref,
    )
    rows, nxt, total = service.list_problems(session, actor=principal, filters=f, cursor=cursor, limit=limit)
    return ProblemPage(
        items=[problem_read(r.problem, r.enterprise_name, r.uscc, r.overdue) for r in rows],
        next_cursor=nxt,
        total=total,
    )


@router.post(
    "/problems",
    summary="提交一条诉求（按统一社会信用代码或企业 id）",
    status_code=201,
    response_model=ProblemRead,
    responses=responses(401, 403, 404, 409, 422, 429),
)
def create_problem(data: ProblemIn, session: SessionDep, principal: Write):
    """市级平台代企业提交诉求：以 `uscc` 指定企业，`external_ref` 为平台侧编号（重复提交返回 409）。
    办理时限按类别自动确定；填写 `unit` 即交办。诉求的每次变化都进入变更流（entity_type=service_problem）。"""
    if (data.enterprise_id is None) == (data.uscc is None):
        raise ValidationFailed.one("uscc", "请以 uscc 或 enterprise_id 之一指定企业")
    ent_id = data.enterprise_id
    if ent_id is None:
        ent_id = enterprise_service.get_by_uscc(
            session, actor=principal, uscc=data.uscc, with_details=False
        ).id
    channel = data.channel or ("platform" if principal.kind == "api_key" else "other")
    p = service.create(
        session,
        actor=principal,
        enterprise_id=ent_id,
        category=data.category,
        title=data.title,
        description=data.description,
        raised_by=data.raised_by,
        channel=channel,
        raised_date=data.raised_date,
        unit_kind=data.unit_kind,
        unit=data.unit,
        visit_id=data.visit_id,
        source="platform" if principal.kind == "api_key" else "staff",
        external_ref=data.external_ref,
    )
    return _full(session, principal, p)


@router.get(
    "/problems/stats",
    summary="诉求统计（按类别、责任单位、乡镇或月份）",
    response_model=list[StatRead],
    responses=responses(401, 403, 422, 429),
)
def problem_stats(
    session: SessionDep,
    principal: Read,
    by: Annotated[Literal["category", "unit", "township", "month", "all"], Query()] = "category",
    start: Annotated[IsoDate | None, Query(description="反映日期起")] = None,
    end: Annotated[IsoDate | None, Query(description="反映日期止")] = None,
    as_of: Annotated[
        IsoDate | None, Query(description="按该日结束时的状态统计（如 2023-12-31：往年评估）；默认当前状态")
    ] = None,
):
    """件数、未办结、超期、已办结、已销号、退回；`overdue_rate_pct` 为超期率（超期未办结或超期办结 ÷ 未退回的件数），
    `mean_days_to_resolve` 为从反映到办结的平均天数。给出 `as_of` 时，各件按该日的办理步骤判断状态（该日之后才办结的仍算
    未办结），该日之后反映的不计。"""
    if as_of is not None and as_of > date.today():
        raise ValidationFailed.one("as_of", f"as_of：{as_of} 晚于今天")
    rows = service.stats(session, actor=principal, by=by, start=start, end=end, as_of=as_of)
    return [
        StatRead(
            key=r.key,
            label=r.label,
            total=r.total,
            open=r.open,
            overdue=r.overdue,
            resolved=r.resolved,
            closed=r.closed,
            returned=r.returned,
            late=r.late,
            overdue_rate_pct=r.overdue_rate,
            mean_days_to_resolve=r.days_to_close,
        )
        for r in rows
    ]


@router.get(
    "/problems/{problem_id}",
    summary="一条诉求及其办理过程",
    response_model=ProblemRead,
    responses=responses(401, 403, 404, 422, 429),
)
def get_problem(problem_id: ProblemId, session: SessionDep, principal: Read):
    """含每一步办理记录（谁、何时、做了什么）。其他乡镇的诉求返回 404。"""
    return _full(session, principal, service.get(session, actor=principal, problem_id=problem_id))


@router.post(
    "/problems/{problem_id}/steps",
    summary="办理一步：交办、办理、办结、销号、退回",
    response_model=ProblemRead,
    responses=responses(401, 403, 404, 409, 422, 429),
)
def add_step(problem_id: ProblemId, data: StepIn, session: SessionDep, principal: Write):
    """状态不允许的操作返回 409（如对已销号的诉求再办结）。办结、退回须写明办理结果或退回原因。"""
    p = service.transition(
        session,
        actor=principal,
        problem_id=problem_id,
        action=data.action,
        note=data.note,
        unit_kind=data.unit_kind,
        unit=data.unit,
        step_date=data.step_date,
    )
    return _full(session, principal, p)
