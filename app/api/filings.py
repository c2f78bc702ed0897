"""JSON API for monthly filings (月度填报): /api/v1/filings."""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, File, Path, Query, UploadFile

from app.accounts.permissions import Principal
from app.api.problems import responses
from app.config import get_settings
from app.deps import CurrentEnterprise, SessionDep, scoped
from app.enterprises.schemas import IsoDate
from app.pagination import Cursor
from app.reference import township_names
from app.reports import excel
from app.reports import service as filing_service
from app.reports.schemas import (
    FilingBatchIn,
    FilingIn,
    FilingPage,
    FilingRead,
    GrowthRead,
    GrowthRow,
    OverdueEnterprise,
    OverdueRead,
    SubmitResult,
    TownshipFilingStatus,
)

router = APIRouter(prefix="/api/v1/filings", tags=["filings 月度填报"])

Read = Annotated[Principal, scoped("filings:read")]
Write = Annotated[Principal, scoped("filings:write")]
# The township codes: checked here by the pattern, listed in the document by the enum.
TOWNSHIP: dict[str, Any] = {"enum": list(township_names())}
TOWNSHIP_PATTERN = "^(" + "|".join(township_names()) + ")$"
# YYYY-MM, 2000-01 to 2100-12 (what reports.service.parse_month reads).
MONTH_PATTERN = r"^\s*(20[0-9]{2}|2100)-(0[1-9]|1[0-2])\s*$"
Month = Annotated[
    str,
    Path(
        description="填报月份 YYYY-MM（填报的是该月的数据）",
        examples=["2023-05"],
        json_schema_extra={"pattern": MONTH_PATTERN},
    ),
]


# --- conversions (no queries here) -----------------------------------------------------------


def filing_read(f, *, name=None, township=None, growth=(None, None, None, None)) -> FilingRead:
    return FilingRead.model_validate(
        {
            **{k: getattr(f, k) for k in FilingRead.model_fields if hasattr(f, k)},
            "month": filing_service.month_text(f.period),
            "enterprise_name": name,
            "township": township,
            "rd_mom_pct": _r(growth[0]),
            "rd_yoy_pct": _r(growth[1]),
            "output_mom_pct": _r(growth[2]),
            "output_yoy_pct": _r(growth[3]),
        }
    )


def _r(v):
    return None if v is None else round(float(v), 2)


def _submitted(period: int, deadline: date, saved) -> SubmitResult:
    return SubmitResult(
        month=filing_service.month_text(period),
        deadline=deadline,
        saved=len(saved),
        late=sum(1 for s in saved if s.late),
    )


def growth_row(g, t: float | None, rep) -> GrowthRow:
    return GrowthRow(
        township=g.township,
        name=g.name,
        filed=g.filed,
        rd_spend_yuan=g.rd,
        rd_mom_pct=_r(g.rd_mom_pct),
        rd_yoy_pct=_r(g.rd_yoy_pct),
        output_value_yuan=g.output,
        output_mom_pct=_r(g.output_mom_pct),
        output_yoy_pct=_r(g.output_yoy_pct),
        rd_target_pct=t,
        rd_reading=rep.reading,
        rd_target_met=rep.met(g, t),
    )


# --- routes ----------------------------------------------------------------------------------


@router.get(
    "",
    summary="某月的填报记录（游标分页）",
    response_model=FilingPage,
    responses=responses(401, 403, 422, 429),
)
def list_filings(
    session: SessionDep,
    principal: Read,
    month: Annotated[
        str, Query(description="填报月份 YYYY-MM", json_schema_extra={"pattern": MONTH_PATTERN})
    ],
    township: Annotated[
        str | None, Query(description="乡镇代码", pattern=TOWNSHIP_PATTERN, json_schema_extra=TOWNSHIP)
    ] = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
):
    """已填报的企业及其数值，含研发投入和产值的环比、同比增长（%，SQL 计算）。乡镇工作人员只看到本乡镇。"""
    period = filing_service.parse_month(month)
    rows, next_cursor, _ = filing_service.list_filings(
        session, actor=principal, period=period, township=township, cursor=cursor, limit=limit
    )
    items = [
        filing_read(
            r.filing,
            name=r.name,
            township=r.township,
            growth=(r.rd_mom_pct, r.rd_yoy_pct, r.output_mom_pct, r.output_yoy_pct),
        )
        for r in rows
    ]
    return FilingPage(items=items, next_cursor=next_cursor)


@router.put(
    "/{month}/enterprises/{enterprise_id}",
    summary="填报或更正一家企业某月的数据",
    response_model=FilingRead,
    responses=responses(401, 403, 404, 422, 429),
)
def submit_one(
    month: Month,
    enterprise_id: int,
    _ent: CurrentEnterprise,
    data: FilingIn,
    session: SessionDep,
    principal: Write,
):
    """填报该企业该月的研发投入、工业产值（必填）和营业收入、用电量。

    截止日为次月 18 日（含当日）；截止日后仍可更正，记为逾期（`filed_late` / `corrected_late`）并写入审计。
    其他乡镇的企业返回 404；负数返回 422 并指明字段。
    """
    period = filing_service.parse_month(month)
    filing_service.submit(
        session, actor=principal, enterprise_id=enterprise_id, period=period, data=data, today=date.today()
    )
    row = filing_service.grid_row(session, actor=principal, enterprise_id=enterprise_id, period=period)
    return filing_read(
        row.filing,
        name=row.name,
        township=row.township,
        growth=(row.rd_mom_pct, row.rd_yoy_pct, row.output_mom_pct, row.output_yoy_pct),
    )


@router.post(
    "/{month}",
    summary="批量填报某月（全部成功或全部不写入）",
    response_model=SubmitResult,
    responses=responses(401, 403, 404, 422, 429),
)
def submit_many(month: Month, data: FilingBatchIn, session: SessionDep, principal: Write):
    """每行以 `enterprise_id` 或 `uscc` 指定企业。任何一行有误（企业不属于本乡镇、负数、缺少必填项），
    整批不写入，`errors` 指明行号和字段。"""
    period = filing_service.parse_month(month)
    saved = filing_service.submit_many(
        session, actor=principal, period=period, rows=data.rows, today=date.today()
    )
    return _submitted(period, filing_service.deadline(session, period), saved)


@router.post(
    "/{month}/import",
    summary="上传 .xlsx 填报某月（全部成功或全部不写入）",
    response_model=SubmitResult,
    responses=responses(401, 403, 404, 422, 429),
)
def import_month(month: Month, session: SessionDep, principal: Write, file: Annotated[UploadFile, File()]):
    """使用填报模板（页面“下载模板”）。错误逐一列出行、列和原因，且不写入任何数据。"""
    period = filing_service.parse_month(month)
    data = file.file.read(get_settings().import_max_bytes + 1)
    saved = excel.import_xlsx(session, actor=principal, period=period, data=data, today=date.today())
    return _submitted(period, filing_service.deadline(session, period), saved)


@router.get(
    "/{month}/overdue",
    summary="未填报（逾期）的企业和乡镇",
    response_model=OverdueRead,
    responses=responses(401, 403, 404, 422, 429),
)
def overdue(
    month: Month,
    session: SessionDep,
    principal: Read,
    as_of: Annotated[
        IsoDate | None, Query(description="评估日，默认今天；晚于截止日（次月 18 日）即为逾期")
    ] = None,
    township: Annotated[
        str | None, Query(description="乡镇代码", pattern=TOWNSHIP_PATTERN, json_schema_extra=TOWNSHIP)
    ] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 200,
):
    """各乡镇应填、已填、逾期填报和未填的企业数，以及未填报的企业名单（按乡镇、名称排序）。"""
    period = filing_service.parse_month(month)
    o = filing_service.overdue(
        session, actor=principal, period=period, as_of=as_of or date.today(), township=township, limit=limit
    )
    return OverdueRead(
        month=filing_service.month_text(period),
        deadline=o.deadline,
        as_of=o.as_of,
        overdue=o.overdue,
        townships=[
            TownshipFilingStatus(
                township=t.township,
                township_name=t.name,
                enterprises=t.enterprises,
                filed=t.filed,
                filed_late=t.filed_late,
                missing=t.missing,
            )
            for t in o.townships
        ],
        enterprises=[
            OverdueEnterprise(enterprise_id=e.id, name=e.name, uscc=e.uscc, township=e.township)
            for e in o.missing
        ],
        missing_total=o.missing_total,
    )


@router.get(
    "/{month}/growth",
    summary="各乡镇研发投入、产值的环比与同比增长，对照研发投入月度增长目标",
    response_model=GrowthRead,
    responses=responses(401, 403, 404, 422, 429),
)
def growth(
    month: Month,
    session: SessionDep,
    principal: Read,
    township: Annotated[
        str | None, Query(description="乡镇代码", pattern=TOWNSHIP_PATTERN, json_schema_extra=TOWNSHIP)
    ] = None,
):
    """环比按两个月都已填报的企业合计相比，同比按本月与去年同月都已填报的企业相比（SQL 计算）。

    是否达到目标（`rd_target_met`）按目标表中该指标设定的口径（`rd_reading`，默认同比）判断，两种增长率都列出。"""
    rep = filing_service.growth_report(
        session, actor=principal, period=filing_service.parse_month(month), township=township
    )
    return GrowthRead(
        month=filing_service.month_text(rep.period),
        townships=[growth_row(g, rep.target_for(g.township), rep) for g in rep.townships],
        county=growth_row(rep.county, rep.target, rep) if rep.county is not None else None,
    )


@router.get(
    "/enterprises/{enterprise_id}",
    summary="一家企业的月度填报记录",
    response_model=list[FilingRead],
    responses=responses(401, 403, 404, 422, 429),
)
def enterprise_filings(enterprise_id: int, _ent: CurrentEnterprise, session: SessionDep, principal: Read):
    """按月份倒序，含环比、同比增长。"""
    ent, rows = filing_service.enterprise_history(session, actor=principal, enterprise_id=enterprise_id)
    return [filing_read(f, name=ent.name, township=ent.township, growth=g) for f, *g in rows]
