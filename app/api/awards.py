"""JSON API for awards (奖补): /api/v1/awards and the award parts of /api/v1/enterprises/{id}."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse

from app.accounts.permissions import Principal
from app.api.problems import file_response, responses
from app.awards import excel, proposals
from app.awards import facts as award_facts
from app.awards import forecast as forecast_service
from app.awards import funds as fund_service
from app.awards import ledger as award_ledger
from app.awards import workflow as award_workflow
from app.awards.schemas import (
    ApproveIn,
    AwardLinePage,
    AwardLineRead,
    AwardLineSummary,
    BatchIn,
    BatchItemRead,
    BatchRead,
    BudgetAdjustmentIn,
    EventRead,
    EventRecorded,
    EventRecordIn,
    ForecastIn,
    ForecastRead,
    FundCreate,
    FundEntryRead,
    Funder,
    FundRead,
    FundUpdate,
    FundYearRead,
    LedgerTotals,
    NoticeRow,
    PayIn,
    PreviewIn,
    PreviewRead,
    RecomputeRead,
    RejectIn,
    Status,
    TopUpIn,
)
from app.deps import CurrentEnterprise, PathId, SessionDep, scoped
from app.enterprises.schemas import IsoDate
from app.errors import ValidationFailed
from app.pagination import Cursor

router = APIRouter(tags=["awards 奖补"])
XLSX_RESPONSE = file_response(excel.XLSX, "Excel 文件")


def _summary(line, name=None, township=None) -> AwardLineSummary:
    return AwardLineSummary.model_validate(line).model_copy(
        update={"enterprise_name": name, "township": township}
    )


def _read(line, ent) -> AwardLineRead:
    return AwardLineRead.model_validate(line).model_copy(
        update={"enterprise_name": ent.name, "township": ent.township}
    )


def _fund(b: fund_service.FundBalance) -> FundRead:
    fields = {k: getattr(b.fund, k) for k in FundRead.model_fields if hasattr(b.fund, k)}
    fields.pop("years", None)
    return FundRead(
        **fields,
        remaining_yuan=b.remaining_yuan,
        paid_yuan=b.paid_yuan,
        proposed_yuan=b.proposed_yuan,
        years=[FundYearRead.model_validate(y) for y in b.years],
    )


# --- computing --------------------------------------------------------------------------------


@router.post(
    "/api/v1/awards/preview",
    summary="试算奖补（不保存）",
    response_model=PreviewRead,
    responses=responses(401, 403, 404, 422),
)
def preview(data: PreviewIn, session: SessionDep, principal: Annotated[Principal, scoped("awards:read")]):
    """按政策规则计算一个事件可得的奖补，什么也不保存。

    企业情况二选一：`enterprise`（规模、所有制、此前认定……，未给出即未知）或 `enterprise_id`
    （从库中取：规模、所有制、事件日期之前的认定、此前已获奖补；乡镇工作人员只能用本乡镇企业）。
    每一行给出文号、条款、出资层级、类型（fixed 定额 / up_to 上限 / computed 按公式）、整数元金额和中文说明；
    事件日期不在任何文件有效期内时没有金额行（仍为 200）。事件有误时 422，`errors` 指出字段（如 `event.level`）。
    """
    result, facts = proposals.preview(
        session,
        actor=principal,
        event=data.event,
        enterprise=data.enterprise,
        enterprise_id=data.enterprise_id,
        extra_facts=data.facts.model_dump() if data.facts else None,
    )
    return PreviewRead(
        lines=result.lines,
        benefits=result.benefits,
        not_computable=result.not_computable,
        total_yuan=result.total_yuan,
        total_by_funder=result.total_by_funder(),
        facts=facts,
    )


@router.post(
    "/api/v1/awards/batch",
    summary="批量计算：逐条试算，或为某年已记录的事件生成奖补",
    response_model=BatchRead,
    responses=responses(401, 403, 404, 422),
)
def batch(data: BatchIn, session: SessionDep, principal: Annotated[Principal, scoped("awards:read")]):
    """两种用法：

    * `{"events": [{"event": {...}, "enterprise": {...} | "enterprise_id": 1}, ...]}`：逐条试算，不保存；
      任何一条有误则整批 422，`errors` 以 `events[i].event.字段` 指出。
    * `{"year": 2023}`：为该年所有已记录的事件（含认定）生成尚未生成的待审核奖补（需 `awards:write`），
      重复调用不会重复生成。
    """
    if data.year is not None:
        out = proposals.compute_year(session, actor=principal, year=data.year)
        return BatchRead(
            mode="year",
            events=out.events,
            lines=out.lines,
            total_yuan=out.total_yuan,
            total_by_funder=out.total_by_funder,
            created_lines=out.created_lines,
            existing_lines=out.existing_lines,
            honour_events_created=out.honour_events_created,
        )
    outcome = proposals.batch_preview(
        session,
        actor=principal,
        items=[item.model_dump(exclude_none=True) | {"enterprise": item.enterprise} for item in data.events],
    )
    items = [
        BatchItemRead(index=i, total_yuan=r.total_yuan, lines=r.lines, not_computable=r.not_computable)
        for i, r in enumerate(outcome.results)
    ]
    return BatchRead(
        mode="events",
        events=len(items),
        lines=sum(len(i.lines) for i in items),
        total_yuan=sum(outcome.total_by_funder.values()),
        total_by_funder=outcome.total_by_funder,
        items=items,
    )


@router.post(
    "/api/v1/awards/forecast",
    summary="测算：目标完成或候选企业获认定时的奖补支出，及假设调整",
    response_model=ForecastRead,
    responses=responses(401, 403, 404, 422),
)
def forecast(data: ForecastIn, session: SessionDep, principal: Annotated[Principal, scoped("awards:read")]):
    """`scenario: targets`：按 2023 年目标表（冠政办发〔2023〕7号 附件）各项目标完成计算；
    `scenario: candidates`：列出的候选企业获得所列认定。按出资层级、按资金汇总，并与资金余额比较。

    `overrides` 只在本次测算中替换规则的数值（如 `{"gzb2023-7.city.specialized_sme.provincial": 200000}`），
    同时返回调整前后及差额；规则本身不变。上限类奖励按上限计。
    """
    out = forecast_service.forecast(
        session,
        actor=principal,
        scenario=data.scenario,
        year=data.year,
        candidates=[c.model_dump() for c in data.candidates],
        overrides=data.overrides,
    )
    return {
        "base": _forecast_json(out.base),
        "what_if": _forecast_json(out.what_if) if out.what_if else None,
        "overrides": {k: str(v) for k, v in out.overrides.items()},
        "difference": out.difference(),
    }


def _forecast_json(f: forecast_service.Forecast) -> dict:
    return {
        "total_yuan": f.total_yuan,
        "by_funder": f.by_funder,
        "by_fund": [
            {
                "fund_id": c.fund_id,
                "code": c.code,
                "name": c.name,
                "funder": c.funder,
                "remaining_yuan": c.remaining_yuan,
                "proposed_yuan": c.proposed_yuan,
                "forecast_yuan": c.forecast_yuan,
                "after_yuan": c.after_yuan,
                "short": c.short,
            }
            for c in f.by_fund
        ],
        "rows": [
            {
                "source": r.source,
                "event": r.event,
                "count": r.count,
                "rule_id": r.rule_id,
                "document": r.document,
                "clause": r.clause,
                "funder": r.funder,
                "per_head_yuan": r.per_head_yuan,
                "total_yuan": r.total_yuan,
                "overridden": r.overridden,
            }
            for r in f.rows
        ],
        "not_forecast": [{"name": n, "reason": why} for n, why in f.not_forecast],
        "not_computable": [{"source": s, "rule_id": r, "reason": why} for s, r, why in f.not_computable],
        "assumptions": f.assumptions,
    }


# --- award lines and their workflow ----------------------------------------------------------


@router.get(
    "/api/v1/awards/lines",
    summary="奖补列表（筛选、游标分页）",
    response_model=AwardLinePage,
    responses=responses(401, 403, 422),
)
def list_lines(
    session: SessionDep,
    principal: Annotated[Principal, scoped("awards:read")],
    status: Annotated[
        list[Status] | None, Query(description="proposed / approved / paid / rejected，可多选")
    ] = None,
    funder: Annotated[Funder | None, Query(description="province / city / county")] = None,
    township: Annotated[str | None, Query(description="乡镇代码")] = None,
    enterprise_id: Annotated[int | None, Query(ge=1)] = None,
    rule_id: Annotated[str | None, Query(max_length=100)] = None,
    document_code: Annotated[str | None, Query(max_length=40)] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100, description="事件年度")] = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
):
    """最新的在前。乡镇工作人员只看到本乡镇企业的奖补。"""
    filters = award_workflow.LineFilters(
        status=status,
        funder=funder,
        township=township,
        enterprise_id=enterprise_id,
        rule_id=rule_id,
        document_code=document_code,
        year=year,
    )
    rows, next_cursor = award_workflow.list_lines(
        session, actor=principal, filters=filters, cursor=cursor, limit=limit
    )
    return AwardLinePage(items=[_summary(*r) for r in rows], next_cursor=next_cursor)


@router.get(
    "/api/v1/awards/lines/{line_id}",
    summary="奖补详情（含计算凭据）",
    response_model=AwardLineRead,
    responses=responses(401, 403, 404, 422),
)
def get_line(line_id: PathId, session: SessionDep, principal: Annotated[Principal, scoped("awards:read")]):
    """`receipt` 保存计算所用的事件、企业事实、规则和政策文件版本（sha256），可据以复核。"""
    return _read(*award_workflow.get_line(session, actor=principal, line_id=line_id))


@router.get(
    "/api/v1/awards/lines/{line_id}/recompute",
    summary="按存档的规则版本重新计算",
    response_model=RecomputeRead,
    responses=responses(401, 403, 404, 422),
)
def recompute(line_id: PathId, session: SessionDep, principal: Annotated[Principal, scoped("awards:read")]):
    """用计算当时的政策文件文本（按版本存档）和凭据中的事件、事实重新计算，核对金额是否一致。"""
    return award_workflow.recompute(session, actor=principal, line_id=line_id)


@router.post(
    "/api/v1/awards/lines/{line_id}/approve",
    summary="批准奖补（从资金中支出）",
    response_model=AwardLineRead,
    responses=responses(401, 403, 404, 409, 422),
)
def approve(
    line_id: PathId,
    data: ApproveIn,
    session: SessionDep,
    principal: Annotated[Principal, scoped("awards:approve")],
):
    """只有待审核的奖补可以批准（否则 409 `invalid_transition`）。金额不得超过条款规定的上限（422，指出
    `amount_yuan` 和条款）；定额的奖补金额须与规定相同。县级奖补从覆盖事件日期的县级资金中支出（可用
    `fund_id` 指定），余额不足时 409 `fund_exhausted`，任何并发下资金都不会超支。
    冠政办发〔2023〕7号 二（二）4 技改 ≤10% 是省、市、县合计上限：批准时须在 `split` 中录入各级份额（合计不超过上限），
    县级资金只支出县级份额（批准金额即县级份额），省级、市级份额记录在奖补上。"""
    award_workflow.approve(
        session,
        actor=principal,
        line_id=line_id,
        comment=data.comment,
        amount_yuan=data.amount_yuan,
        fund_id=data.fund_id,
        split=data.split,
    )
    return _read(*award_workflow.get_line(session, actor=principal, line_id=line_id))


@router.post(
    "/api/v1/awards/lines/{line_id}/pay",
    summary="登记拨付",
    response_model=AwardLineRead,
    responses=responses(401, 403, 404, 409, 422),
)
def pay(
    line_id: PathId,
    data: PayIn,
    session: SessionDep,
    principal: Annotated[Principal, scoped("awards:approve")],
):
    """只有已批准的奖补可以登记拨付（日期、凭证号）。"""
    award_workflow.pay(
        session, actor=principal, line_id=line_id, paid_date=data.paid_date, voucher_no=data.voucher_no
    )
    return _read(*award_workflow.get_line(session, actor=principal, line_id=line_id))


@router.post(
    "/api/v1/awards/lines/{line_id}/reject",
    summary="驳回奖补",
    response_model=AwardLineRead,
    responses=responses(401, 403, 404, 409, 422),
)
def reject(
    line_id: PathId,
    data: RejectIn,
    session: SessionDep,
    principal: Annotated[Principal, scoped("awards:approve")],
):
    """待审核或已批准（未拨付）的奖补可以驳回；已批准的，所支出的资金退回资金余额。"""
    award_workflow.reject(session, actor=principal, line_id=line_id, reason=data.reason)
    return _read(*award_workflow.get_line(session, actor=principal, line_id=line_id))


# --- 公示 and the ledger ------------------------------------------------------------------------


@router.get(
    "/api/v1/awards/notice",
    summary="公示名单（已批准的奖补）",
    response_model=list[NoticeRow],
    responses=responses(401, 403, 422),
)
def notice(
    session: SessionDep,
    principal: Annotated[Principal, scoped("awards:read")],
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
):
    """已批准（含已拨付）的奖补：企业、认定或事件、金额、出资层级。"""
    return [
        {
            "line_id": line.id,
            "enterprise_id": line.enterprise_id,
            "enterprise_name": name,
            "township": township,
            "event": award_facts.describe_event(line.receipt.get("event", {})),
            "subject": award_ledger.subject_of(line),
            "document": line.document,
            "clause": line.clause,
            "funder": line.funder,
            "amount_yuan": line.amount_yuan,
            "status": line.status,
        }
        for line, name, township in award_ledger.notice_rows(session, actor=principal, year=year)
    ]


@router.get(
    "/api/v1/awards/notice.xlsx",
    summary="公示名单 Excel",
    response_class=StreamingResponse,
    responses={**XLSX_RESPONSE, **responses(401, 403, 422)},
)
def notice_xlsx(
    session: SessionDep,
    principal: Annotated[Principal, scoped("awards:read")],
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
):
    """文本单元格一律按字符串写入。"""
    return Response(
        excel.notice_xlsx(session, actor=principal, year=year),
        media_type=excel.XLSX,
        headers={"Content-Disposition": "attachment; filename=award-notice.xlsx"},
    )


@router.get(
    "/api/v1/awards/ledger",
    summary="奖补台账合计（按状态）",
    response_model=LedgerTotals,
    responses=responses(401, 403, 422),
)
def ledger(
    session: SessionDep,
    principal: Annotated[Principal, scoped("awards:read")],
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    as_of: Annotated[
        IsoDate | None, Query(description="按该日结束时的状态合计（如 2023-12-31：往年评估）")
    ] = None,
):
    """各状态的笔数与金额（整数元）：待审核、已驳回按计算金额，已批准、已拨付按批准金额。给出 `as_of` 时，各笔按该日结束时的
    状态合计：按拨付日期、审核日期判断（该日之后才批准的仍为待审核）。"""
    if as_of is not None and as_of > date.today():
        raise ValidationFailed.one("as_of", f"as_of：{as_of} 晚于今天")
    return award_ledger.ledger_totals(
        session, actor=principal, filters=award_workflow.LineFilters(year=year), as_of=as_of
    )


@router.get(
    "/api/v1/awards/ledger.xlsx",
    summary="导出奖补台账 Excel",
    response_class=StreamingResponse,
    responses={**XLSX_RESPONSE, **responses(401, 403, 422)},
)
def ledger_xlsx(
    session: SessionDep,
    principal: Annotated[Principal, scoped("awards:read")],
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    status: Annotated[
        list[Status] | None, Query(description="proposed / approved / paid / rejected，可多选")
    ] = None,
):
    """每笔奖补一行（金额为整数元），另一张表为各状态合计。"""
    data = excel.ledger_xlsx(
        session, actor=principal, filters=award_workflow.LineFilters(year=year, status=status)
    )
    return Response(
        data, media_type=excel.XLSX, headers={"Content-Disposition": "attachment; filename=award-ledger.xlsx"}
    )


# --- funds ----------------------------------------------------------------------------------


@router.get(
    "/api/v1/awards/funds",
    summary="资金及余额",
    response_model=list[FundRead],
    responses=responses(401, 403, 422),
)
def list_funds(session: SessionDep, principal: Annotated[Principal, scoped("awards:read")]):
    """每项资金的预算（含追加）、已批准支出、余额、已拨付和待审核（按上限计）金额。"""
    return [_fund(b) for b in fund_service.balances(session)]


@router.post(
    "/api/v1/awards/funds",
    summary="设立资金",
    status_code=201,
    response_model=FundRead,
    responses=responses(401, 403, 409, 422),
)
def create_fund(
    data: FundCreate, session: SessionDep, principal: Annotated[Principal, scoped("awards:write")]
):
    """设立某出资层级在某期间的资金（如市级自有资金），预算记入资金台账。"""
    fund = fund_service.create(session, actor=principal, **data.model_dump())
    return _fund(next(b for b in fund_service.balances(session) if b.fund.id == fund.id))


@router.patch(
    "/api/v1/awards/funds/{fund_id}",
    summary="修改资金名称或期间",
    response_model=FundRead,
    responses=responses(401, 403, 404, 422),
)
def update_fund(
    fund_id: PathId,
    data: FundUpdate,
    session: SessionDep,
    principal: Annotated[Principal, scoped("awards:write")],
):
    """已批准奖补的事件日期须仍在新的期间内。"""
    fund_service.update_fund(session, actor=principal, fund_id=fund_id, **data.model_dump(exclude_unset=True))
    return _fund(next(b for b in fund_service.balances(session) if b.fund.id == fund_id))


@router.post(
    "/api/v1/awards/funds/{fund_id}/top-ups",
    summary="追加资金",
    status_code=201,
    response_model=FundEntryRead,
    responses=responses(401, 403, 404, 422),
)
def top_up(
    fund_id: PathId,
    data: TopUpIn,
    session: SessionDep,
    principal: Annotated[Principal, scoped("awards:write")],
):
    """追加记入资金台账并留痕（审计）。按年设额度的资金须填 `year`，追加到该年的额度。"""
    return fund_service.top_up(
        session,
        actor=principal,
        fund_id=fund_id,
        amount_yuan=data.amount_yuan,
        note=data.note,
        year=data.year,
    )


@router.post(
    "/api/v1/awards/funds/{fund_id}/budget-adjustments",
    summary="调整资金预算（按年额度）",
    status_code=201,
    response_model=FundEntryRead,
    responses=responses(401, 403, 404, 422),
)
def adjust_budget(
    fund_id: PathId,
    data: BudgetAdjustmentIn,
    session: SessionDep,
    principal: Annotated[Principal, scoped("awards:write")],
):
    """县级管理员设定或调低资金某一年的额度（按年设额度的资金，如冠政发〔2022〕9号 五（二）的每年 500 万元），
    或调整其他资金整个期间的预算。不得低于该年（该资金）已支用的金额（已批准的奖补和其他支出），否则 422 指明
    `budget_yuan`。记入资金台账（类别“预算调整”，金额为增减额，附理由）并写入审计。"""
    return fund_service.set_year_budget(
        session,
        actor=principal,
        fund_id=fund_id,
        year=data.year,
        budget_yuan=data.budget_yuan,
        reason=data.reason,
    )


@router.get(
    "/api/v1/awards/funds/{fund_id}/entries",
    summary="资金台账",
    response_model=list[FundEntryRead],
    responses=responses(401, 403, 404, 422),
)
def fund_entries(
    fund_id: PathId, session: SessionDep, principal: Annotated[Principal, scoped("awards:read")]
):
    """预算安排、追加、预算调整、批准支出、驳回退回和其他支出，最新的在前。"""
    return fund_service.entries(session, fund_id)


# --- an enterprise's events and awards --------------------------------------------------------


@router.get(
    "/api/v1/enterprises/{enterprise_id}/awards",
    summary="企业的奖补",
    response_model=list[AwardLineSummary],
    responses=responses(401, 403, 404, 422),
)
def enterprise_awards(
    enterprise_id: int,
    ent: CurrentEnterprise,
    session: SessionDep,
    principal: Annotated[Principal, scoped("awards:read")],
):
    """该企业的全部奖补（各状态），按事件日期从新到旧。"""
    lines = award_workflow.enterprise_lines(session, actor=principal, enterprise_id=enterprise_id)
    return [_summary(line, ent.name, ent.township) for line in lines]


@router.get(
    "/api/v1/enterprises/{enterprise_id}/events",
    summary="企业的奖补事件",
    response_model=list[EventRead],
    responses=responses(401, 403, 404, 422),
)
def enterprise_events(
    enterprise_id: int,
    _ent: CurrentEnterprise,
    session: SessionDep,
    principal: Annotated[Principal, scoped("enterprises:read")],
):
    """已记录的事件（含认定自动生成的事件），按日期从新到旧。"""
    return proposals.enterprise_events(session, actor=principal, enterprise_id=enterprise_id)


@router.post(
    "/api/v1/enterprises/{enterprise_id}/events",
    summary="记录事件并自动生成奖补",
    status_code=201,
    response_model=EventRecorded,
    responses=responses(401, 403, 404, 409, 422),
)
def record_event(
    enterprise_id: int,
    _ent: CurrentEnterprise,
    data: EventRecordIn,
    session: SessionDep,
    principal: Annotated[Principal, scoped("enterprises:write")],
):
    """记录非认定类事件（首次升规、销售收入突破、贷款贴息、设备购置、设计大赛获奖、承办技能大赛、
    人才工程、领军人才贷款贴息、一季度新增产值），按政策自动生成待审核的奖补（免申即享）。

    同一事件再次记录为 409；一次性奖励此前已生成的不再生成（列于 `skipped`）。
    事件日期不在任何政策文件的有效期内（或有效文件中没有这类事件的条款）时照常记录，
    但不生成奖补，`warnings` 说明原因（最近的文件及其失效日期）。
    `facts` 可补充库中没有的事实（如领军人才来冠创办企业的日期）。
    """
    rec = proposals.record_event(
        session,
        actor=principal,
        enterprise_id=enterprise_id,
        event=data.event,
        facts=data.facts.model_dump(mode="json") if data.facts else None,
        note=data.note,
    )
    return EventRecorded(
        event=EventRead.model_validate(rec.event),
        lines=[_summary(line, _ent.name, _ent.township) for line in rec.lines],
        benefits=rec.proposal.result.benefits,
        not_computable=rec.proposal.result.not_computable,
        skipped=rec.proposal.skipped,
        warnings=rec.warnings,
    )
