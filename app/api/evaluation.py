"""JSON API of the yearly evaluation (/api/v1/evaluation) and of non-award fund spending."""

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from app.accounts.permissions import Principal
from app.api.problems import responses
from app.deps import SessionDep, scoped
from app.enterprises.schemas import IsoDate, Whole
from app.evaluation import report, spending

router = APIRouter(prefix="/api/v1/evaluation", tags=["evaluation 年度评估"])


class SpendingIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    fund_id: Whole = Field(ge=1, le=2**31 - 1)
    kind: Literal["audit_fee", "action_cost"] = Field(
        description="audit_fee 第三方审计费用、action_cost 培育行动经费"
    )
    amount_yuan: Whole = Field(ge=1, le=10**12, description="金额（元）")
    spent_date: IsoDate
    note: str = Field(min_length=1, max_length=500, description="支出事由")


class SpendingRead(BaseModel):
    id: int
    fund_id: int
    kind: str
    amount_yuan: int
    spent_date: date | None
    note: str | None
    fund_remaining_yuan: int


class ReportRead(BaseModel):
    scope: str
    year: int | None
    start: date
    end: date
    as_of: date
    public: bool
    title: str
    targets: list[dict[str, Any]]
    award_totals: dict[str, int]
    awards_by: dict[str, list[dict[str, Any]]]
    funds: list[dict[str, Any]]
    pools: list[dict[str, Any]]
    problems: dict[str, Any]
    visits: dict[str, int]
    registers: dict[str, int]


def report_read(rep: report.Report) -> ReportRead:
    targets = []
    for key, m in rep.matrices:
        for row in m.rows:
            c = row.county
            targets.append(
                {
                    "set": key,
                    "code": row.indicator.code,
                    "name": row.indicator.name,
                    "actual": c.actual if c else None,
                    "target": c.target if c else None,
                    "status": c.status if c else None,
                    "townships": {
                        t: {"actual": x.actual, "target": x.target, "status": x.status}
                        for t, x in row.townships.items()
                    },
                }
            )
    s = rep.problem_total
    return ReportRead(
        scope=rep.scope,
        year=rep.year,
        start=rep.start,
        end=rep.end,
        as_of=rep.as_of,
        public=rep.public,
        title=rep.title,
        targets=targets,
        award_totals=rep.award_totals,
        awards_by={k: [a.__dict__ for a in v] for k, v in rep.awards_by.items()},
        funds=[
            {
                "fund_id": f.fund.id,
                "name": f.label,
                "budget_yuan": f.budget_yuan,
                "paid_awards_yuan": f.paid_awards_yuan,
                "audit_fee_yuan": f.spent.audit_fee_yuan,
                "action_cost_yuan": f.spent.action_cost_yuan,
                "drawn_yuan": f.drawn_yuan,
                "remaining_yuan": f.remaining_yuan,
            }
            for f in rep.funds
        ],
        pools=[p.__dict__ for p in rep.pools],
        problems={
            "total": s.total,
            "open": s.open,
            "overdue": s.overdue,
            "resolved": s.resolved,
            "closed": s.closed,
            "returned": s.returned,
            "overdue_rate_pct": s.overdue_rate,
            "mean_days_to_resolve": s.days_to_close,
        },
        visits=rep.visit_counts.__dict__,
        registers=rep.register_totals.__dict__,
    )


@router.get(
    "/plan",
    summary="三年行动（2022—2024）全面评估",
    response_model=ReportRead,
    responses=responses(401, 403, 404, 422, 429),
)
def plan_report(
    session: SessionDep,
    principal: Annotated[Principal, scoped("evaluation:read")],
    public: Annotated[bool, Query(description="公开版：不含个人联系方式")] = False,
):
    """与年度评估相同的各部分，期间为 2022-01-01 至 2024-12-31。"""
    return report_read(report.build(session, actor=principal, scope="plan", public=public))


@router.get(
    "/years/{year}",
    summary="年度工作成效评估",
    response_model=ReportRead,
    responses=responses(401, 403, 404, 422, 429),
)
def year_report(
    year: Annotated[int, Path(ge=2022, le=2100)],
    session: SessionDep,
    principal: Annotated[Principal, scoped("evaluation:read")],
    public: Annotated[bool, Query(description="公开版：不含个人联系方式")] = False,
):
    """目标完成（按乡镇和指标）、奖补（按条款、出资层级、资金、乡镇）、资金使用与结余、培育库变动、服务直通车、走访、培训。
    各项数字与相应页面同日所示一致；当年未结束时按今天评估。"""
    return report_read(report.build(session, actor=principal, scope="year", year=year, public=public))


@router.post(
    "/spending",
    summary="记录资金的非奖补支出（审计费用、培育行动经费）",
    status_code=201,
    response_model=SpendingRead,
    responses=responses(401, 403, 404, 409, 422, 429),
)
def record_spending(
    data: SpendingIn, session: SessionDep, principal: Annotated[Principal, scoped("awards:write")]
):
    """冠政发〔2022〕9号 五（四）：第三方专项审计费用在统筹资金列支。与奖补共用资金余额；余额不足返回 409 `fund_exhausted`。"""
    e = spending.spend(
        session,
        actor=principal,
        fund_id=data.fund_id,
        kind=data.kind,
        amount_yuan=data.amount_yuan,
        spent_date=data.spent_date,
        note=data.note,
    )
    from app.awards.models import Fund

    fund = session.get(Fund, e.fund_id)
    session.refresh(fund)
    return SpendingRead(
        id=e.id,
        fund_id=e.fund_id,
        kind=e.kind,
        amount_yuan=e.amount_yuan,
        spent_date=e.entry_date,
        note=e.note,
        fund_remaining_yuan=fund.budget_yuan - fund.drawn_yuan,
    )
