"""JSON API for target tables and progress: /api/v1/targets."""

import json
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Path, Query, Response, UploadFile
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from app.accounts.permissions import Principal
from app.api.problems import file_response, responses
from app.config import get_settings
from app.deps import SessionDep, scoped
from app.enterprises.schemas import IsoDate
from app.errors import ValidationFailed
from app.pagination import Cursor
from app.reference import township_names
from app.targets import drafts, excel
from app.targets import service as target_service
from app.targets.progress import STATUS_NAMES, STATUS_RULES, Cell, Matrix, describe_measure, num
from app.targets.schemas import (
    CellEnterprise,
    CellEnterprisesRead,
    CellRead,
    CopyIn,
    IndicatorNew,
    IndicatorPatch,
    IndicatorRead,
    MeasureRead,
    PartRead,
    ProgressRead,
    ProgressRow,
    TableIn,
    TargetSetList,
    TargetSetRead,
    TargetSetSummary,
)

router = APIRouter(prefix="/api/v1/targets", tags=["targets 目标进度"])

Read = Annotated[Principal, scoped("targets:read")]
Write = Annotated[Principal, scoped("targets:write")]
Key = Annotated[
    str, Path(pattern=r"^\d{4}(-\d{4})?$", description="年度表为年份（2023），多年目标为 2022-2024")
]
AsOf = Annotated[IsoDate | None, Query(description="评估日（YYYY-MM-DD），默认今天")]


# --- conversions (no queries here) -----------------------------------------------------------


def set_read(ts) -> TargetSetRead:
    return TargetSetRead(
        **TargetSetSummary.model_validate(ts).model_dump(),
        indicators=[
            IndicatorRead(
                no=i.no,
                code=i.code,
                name=i.name,
                clause=i.clause,
                text=i.text,
                unit=i.unit,
                kind=i.kind,
                county_only=i.county_only,
                at_least=i.at_least,
                approx=i.approx,
                total=float(i.total),
                deadline=i.deadline,
                deadline_text=i.deadline_text,
                filing_day=i.filing_day,
                measure=i.measure,
                measure_text=describe_measure(i.measure, ts, i.deadline),
                parts=i.parts,
                responsible=i.responsible,
                townships=target_service.township_figures(i),
            )
            for i in ts.indicators
        ],
    )


def cell_read(c: Cell) -> CellRead:
    return CellRead(
        actual=num(c.actual),
        target=num(c.target),
        status=c.status,
        status_name=STATUS_NAMES[c.status],
        percent=c.percent,
    )


def progress_read(m: Matrix) -> ProgressRead:
    return ProgressRead(
        key=m.target_set.key,
        as_of=m.as_of,
        status_rules=STATUS_RULES,
        townships=[t["code"] for t in m.townships],
        rows=[
            ProgressRow(
                code=r.indicator.code,
                name=r.indicator.name,
                unit=r.indicator.unit,
                kind=r.indicator.kind,
                measure_kind=r.measure_kind,
                deadline=r.indicator.deadline,
                available=r.available,
                reason=r.reason,
                report_month=r.report_month,
                county=cell_read(r.county) if r.county is not None else None,
                townships={k: cell_read(c) for k, c in r.townships.items()},
                parts=[PartRead(code=p.code, name=p.name, cell=cell_read(p.cell)) for p in r.parts],
            )
            for r in m.rows
        ],
    )


def _year(key: str) -> int:
    if not key.isdigit():
        raise ValidationFailed.one("year", "只能录入年度目标表（路径应为年份，如 2024）")
    return int(key)


# --- routes ----------------------------------------------------------------------------------


@router.get(
    "",
    summary="目标表列表（年度与多年目标）",
    response_model=TargetSetList,
    responses=responses(401, 403, 422, 429),
)
def list_tables(
    session: SessionDep,
    principal: Read,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
):
    """所有目标表，期末最近的在前：年度目标表（如 2023 年，冠政办发〔2023〕7号附件）与多年目标（2022-2024，冠政发〔2022〕9号）。"""
    rows, next_cursor = target_service.list_page(session, actor=principal, cursor=cursor, limit=limit)
    return TargetSetList(items=rows, next_cursor=next_cursor)


@router.get(
    "/{key}",
    summary="一张目标表（指标 × 乡镇）",
    response_model=TargetSetRead,
    responses=responses(401, 403, 404, 422, 429),
)
def get_table(key: Key, session: SessionDep, principal: Read):
    """各指标的乡镇目标数、总数、完成时限、责任人和统计口径（数据定义及其中文说明）。"""
    return set_read(target_service.get_set(session, actor=principal, key=key))


@router.put(
    "/{key}",
    summary="录入或替换年度目标表",
    response_model=TargetSetRead,
    responses=responses(401, 403, 404, 409, 422, 429),
)
def put_table(
    key: Key,
    data: TableIn,
    session: SessionDep,
    principal: Write,
    replace: Annotated[bool, Query(description="该年度已有目标表时替换（否则 409）")] = False,
):
    """按附件格式录入一年的目标表：每行一项指标，乡镇以代码、全称或简称为键。

    各乡镇之和须等于总数，乡镇和指标须已知，数值不能为负；任何一处错误返回 422，`errors` 逐一列出
    行、指标和乡镇，且不写入任何数据。
    """
    rows = [r.model_dump(exclude_none=True) for r in data.rows]
    ts = target_service.save_table(
        session,
        actor=principal,
        year=_year(key),
        document=data.document,
        title=data.title,
        issued_date=data.issued_date,
        rows=rows,
        source="api",
        replace=replace,
    )
    return set_read(target_service.get_set(session, actor=principal, key=ts.key))


@router.post(
    "/{key}/upload",
    summary="上传 .xlsx 录入年度目标表（附件格式，全部成功或全部不写入）",
    response_model=TargetSetRead,
    responses=responses(401, 403, 404, 409, 422, 429),
)
def upload_table(
    key: Key,
    session: SessionDep,
    principal: Write,
    file: Annotated[
        UploadFile, File(description="与附件相同格式的 .xlsx：行为指标，列为 19 个乡镇、总数、完成时限")
    ],
    document: Annotated[str, Form(min_length=1, max_length=60)],
    title: Annotated[str, Form(min_length=1, max_length=200)],
    replace: Annotated[bool, Form()] = False,
):
    """表格模板可由 `GET /api/v1/targets/{key}/table.xlsx` 下载。出错时 `errors` 给出每个单元格所在行和原因。"""
    data = file.file.read(get_settings().import_max_bytes + 1)
    rows, first_row = excel.read_table(data)
    ts = target_service.save_table(
        session,
        actor=principal,
        year=_year(key),
        document=document,
        title=title,
        rows=rows,
        source="upload",
        replace=replace,
        first_row=first_row,
    )
    return set_read(target_service.get_set(session, actor=principal, key=ts.key))


@router.get(
    "/{key}/progress",
    summary="进度矩阵（指标 × 乡镇：完成数 / 目标数 / 状态）",
    response_model=ProgressRead,
    responses=responses(401, 403, 404, 422, 429),
)
def get_progress(key: Key, session: SessionDep, principal: Read, as_of: AsOf = None):
    """每项指标在各乡镇和全县的完成数、目标数与状态，按评估日（默认今天）计算。

    状态：met 已完成、on_track 正常推进、behind 进度滞后（距截止日 30 天内且不足目标 80%）、
    overdue 逾期未完成、not_available 数据尚未接入（`reason` 说明原因，不显示为 0）、
    no_target 县级指标在乡镇一级无分解目标。乡镇工作人员只看到本乡镇。
    """
    m = target_service.progress_matrix(session, actor=principal, key=key, as_of=as_of or date.today())
    return progress_read(m)


@router.get(
    "/{key}/progress/{code}/enterprises",
    summary="一个单元格计入的企业（下钻）",
    response_model=CellEnterprisesRead,
    responses=responses(401, 403, 404, 422, 429),
)
def cell_enterprises(
    key: Key,
    code: str,
    session: SessionDep,
    principal: Read,
    township: Annotated[
        str | None,
        Query(description="乡镇代码；省略为全县", json_schema_extra={"enum": list(township_names())}),
    ] = None,
    part: Annotated[str | None, Query(description="分项代码（如 cluster_city）")] = None,
    as_of: AsOf = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=2000)] = 500,
):
    """列出计入该单元格完成数的企业（按名称分页）及依据（认定记录、入库日期、注册日期或填报数）。"""
    if township is not None and township not in township_names():
        raise ValidationFailed.one("township", f"未知的乡镇代码“{township}”")
    as_of = as_of or date.today()
    ts, ind, page = target_service.cell_enterprises(
        session,
        actor=principal,
        key=key,
        code=code,
        township=township,
        as_of=as_of,
        part=part,
        cursor=cursor,
        limit=limit,
    )
    return CellEnterprisesRead(
        key=ts.key,
        indicator=ind.code,
        township=township,
        as_of=as_of,
        total=page.total,
        reason=page.reason,
        items=[CellEnterprise(**r.__dict__) for r in page.rows],
        next_cursor=page.next_cursor,
    )


XLSX_RESPONSE = file_response(excel.XLSX, "Excel 文件")


@router.get(
    "/{key}/export.xlsx",
    summary="导出进度矩阵（附件格式，目标与完成并列）",
    response_class=StreamingResponse,
    responses={**XLSX_RESPONSE, **responses(401, 403, 404, 422, 429)},
)
def export_matrix(key: Key, session: SessionDep, principal: Read, as_of: AsOf = None):
    """第一个工作表为完成情况（各乡镇“目标 | 完成”并列，按状态着色），第二个为目标表本身。"""
    m = target_service.progress_matrix(session, actor=principal, key=key, as_of=as_of or date.today())
    return Response(
        excel.matrix_xlsx(m),
        media_type=excel.XLSX,
        headers={"Content-Disposition": f"attachment; filename=targets-{key}-progress.xlsx"},
    )


@router.get(
    "/{key}/table.xlsx",
    summary="下载目标表（附件格式，可改为新年度后上传）",
    response_class=StreamingResponse,
    responses={**XLSX_RESPONSE, **responses(401, 403, 404, 422, 429)},
)
def table_template(key: Key, session: SessionDep, principal: Read):
    """与附件相同的版式：序号、项目名称、19 个乡镇、总数、完成时限、工信局联系人。"""
    ts = target_service.get_set(session, actor=principal, key=key)
    return Response(
        excel.table_xlsx(ts),
        media_type=excel.XLSX,
        headers={"Content-Disposition": f"attachment; filename=targets-{key}.xlsx"},
    )


class ReadingIn(BaseModel):
    reading: Literal["year_on_year", "month_on_month"] = Field(
        description="year_on_year 同比 / month_on_month 环比"
    )


@router.put(
    "/{key}/indicators/{code}/reading",
    summary="设定研发投入增长率的口径（同比或环比）",
    response_model=TargetSetRead,
    responses=responses(401, 403, 404, 422, 429),
)
def put_reading(key: Key, code: str, data: ReadingIn, session: SessionDep, principal: Write):
    """研发投入“月度增长 10%”按同比（每月与上年同月相比）还是环比（与上月相比）判断：县级设定，另一口径仍一并列出。"""
    target_service.set_rd_reading(session, actor=principal, key=key, code=code, reading=data.reading)
    return set_read(target_service.get_set(session, actor=principal, key=key))


# --- next year's table as a draft ---------------------------------------------------------------


def _draft_read(session, principal, key: str) -> TargetSetRead:
    return set_read(target_service.get_set(session, actor=principal, key=key))


@router.post(
    "/{key}/copy",
    summary="复制该年目标表为下一年的草稿",
    status_code=201,
    response_model=TargetSetRead,
    responses=responses(401, 403, 404, 409, 422, 429),
)
def copy_table(key: Key, data: CopyIn, session: SessionDep, principal: Write):
    """全部指标、乡镇分解、分项和统计口径复制到新年度，完成时限顺延到新年度。草稿不在驾驶舱默认显示，发布后生效。"""
    ts = drafts.copy_as_draft(
        session,
        actor=principal,
        source_key=key,
        year=data.year,
        document=data.document,
        title=data.title,
        issued_date=data.issued_date,
        source="api",
    )
    return _draft_read(session, principal, ts.key)


@router.get(
    "/{key}/measures",
    summary="可选的统计口径",
    response_model=list[MeasureRead],
    responses=responses(401, 403, 404, 422, 429),
)
def list_measures(key: Key, session: SessionDep, principal: Read):
    """系统能够从数据统计的口径（指标可选其一，或“不统计”并写明原因）。"""
    ts = target_service.get_set(session, actor=principal, key=key)
    return [MeasureRead(measure=json.loads(k), text=text) for k, text in drafts.known_measures(session, ts)]


@router.patch(
    "/{key}/indicators/{code}",
    summary="修改草稿中的一项指标",
    response_model=TargetSetRead,
    responses=responses(401, 403, 404, 409, 422, 429),
)
def patch_indicator(key: Key, code: str, data: IndicatorPatch, session: SessionDep, principal: Write):
    """目标数、乡镇分解、分项、完成时限或统计口径（`measure`，或 `not_measured_reason` 表示不统计）。
    错误返回 422，逐项说明行和字段，不写入；已发布的目标表返回 409。"""
    drafts.update_indicator(
        session, actor=principal, key=key, code=code, changes=data.model_dump(exclude_unset=True)
    )
    return _draft_read(session, principal, key)


@router.post(
    "/{key}/indicators",
    summary="在草稿中新增一项指标",
    status_code=201,
    response_model=TargetSetRead,
    responses=responses(401, 403, 404, 409, 422, 429),
)
def add_indicator(key: Key, data: IndicatorNew, session: SessionDep, principal: Write):
    drafts.add_indicator(session, actor=principal, key=key, row=data.model_dump(exclude_none=True))
    return _draft_read(session, principal, key)


@router.delete(
    "/{key}/indicators/{code}",
    summary="删除草稿中的一项指标",
    status_code=204,
    responses=responses(401, 403, 404, 409, 422, 429),
)
def delete_indicator(key: Key, code: str, session: SessionDep, principal: Write):
    drafts.remove_indicator(session, actor=principal, key=key, code=code)
    return Response(status_code=204)


@router.post(
    "/{key}/publish",
    summary="发布目标表草稿",
    response_model=TargetSetRead,
    responses=responses(401, 403, 404, 409, 422, 429),
)
def publish_table(key: Key, session: SessionDep, principal: Write):
    """草稿成为该年度的目标表。已发布（包括他人同时发布）返回 409。"""
    drafts.publish(session, actor=principal, key=key)
    return _draft_read(session, principal, key)


@router.delete(
    "/{key}/draft",
    summary="删除目标表草稿",
    status_code=204,
    responses=responses(401, 403, 404, 409, 429),
)
def discard_draft(key: Key, session: SessionDep, principal: Write):
    drafts.discard(session, actor=principal, key=key)
    return Response(status_code=204)
