"""JSON API for the enterprise registry: /api/v1/enterprises."""

import operator
from typing import Annotated

from fastapi import APIRouter, File, Header, Query, Request, Response, UploadFile
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from app.accounts.permissions import Principal
from app.api import idempotency
from app.api.problems import file_response, responses
from app.api.reads import Reader, reading
from app.api.rendering import rendered, rendered_plain
from app.awards import proposals as award_proposals
from app.config import get_settings
from app.deps import CurrentEnterprise, PathId, SessionDep, scoped
from app.enterprises import excel
from app.enterprises import service as enterprise_service
from app.enterprises.schemas import (
    SORTS,
    AuditEntryRead,
    EnterpriseCreate,
    EnterprisePage,
    EnterpriseRead,
    EnterpriseSummary,
    EnterpriseUpdate,
    FigureIn,
    FigureRead,
    HonourIn,
    HonourRead,
    HonourRecordedRead,
)
from app.errors import PreconditionRequired, ValidationFailed
from app.filters import EnterpriseFilters
from app.pagination import Cursor

router = APIRouter(prefix="/api/v1/enterprises", tags=["enterprises 企业"])


def etag(version: int) -> str:
    return f'"{version}"'


# An ETag as this API sends it ("3"), weak or bare (W/"3", 3) — what parse_if_match reads.
IF_MATCH_PATTERN = r'^(W/)?"*[0-9]+"*$'
IfMatch = Annotated[
    str,
    Header(
        pattern=IF_MATCH_PATTERN,
        max_length=40,
        description='取自此前响应的 ETag（如 "3"），防止覆盖他人修改；缺少时 428，与当前版本不符时 412',
    ),
]


def parse_if_match(value: str | None, *, required: bool = True) -> int | None:
    if value is None:
        if required:
            raise PreconditionRequired()
        return None
    v = value.strip()
    if v.startswith("W/"):
        v = v[2:]
    v = v.strip('"')
    if not (v.isascii() and v.isdigit()):
        raise ValidationFailed.one("If-Match", 'If-Match 应为此前响应中的 ETag，如 "3"')
    return int(v)


def _read(ent) -> dict:
    return jsonable_encoder(EnterpriseRead.model_validate(ent))


_SUMMARY_FIELDS = tuple(f for f in EnterpriseSummary.model_fields if f != "revenue_yuan")
_PAGE_FIELDS = tuple(EnterpriseSummary.model_fields)  # the summary's fields in its order, revenue last


@router.get(
    "",
    summary="企业列表（筛选、排序、游标分页）",
    response_model=EnterprisePage,
    responses=responses(401, 403, 422, 429),
)
async def list_enterprises(
    reader: Annotated[Reader, reading("enterprises:read")],
    filters: EnterpriseFilters,
    sort: Annotated[str, Query(description=f"排序：{', '.join(SORTS)}")] = "name",
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
):
    """按乡镇、规模、规上、认定、培育库、营业收入区间筛选，按名称或统一社会信用代码搜索。

    分页为游标（keyset）分页：任意深度的翻页代价相同。乡镇工作人员只看到本乡镇企业。
    """
    rows, next_cursor, year = await reader.run(
        enterprise_service.list_page,
        actor=reader.principal,
        filters=filters,
        sort=sort,
        cursor=cursor,
        limit=limit,
        columns=_SUMMARY_FIELDS,
    )
    # Each row's columns are the schema's fields as the database typed them (whole numbers, text, booleans,
    # NULL): written in the schema's order by pydantic-core's encoder, without checking 50 rows field by field
    # again (a fifth of the request's time); tests/test_reads.py holds the page to the schema.
    items = []
    if rows:
        pick = operator.itemgetter(*[rows[0][0]._fields.index(f) for f in _PAGE_FIELDS])  # by position
        items = [dict(zip(_PAGE_FIELDS, pick(row), strict=True)) for row, _revenue in rows]
    return rendered_plain({"items": items, "next_cursor": next_cursor, "year": year})


@router.get(
    "/export.xlsx",
    summary="导出当前筛选结果为 Excel",
    responses={**file_response(excel.XLSX, "Excel 文件"), **responses(401, 403, 422)},
    response_class=StreamingResponse,
)
def export_enterprises(
    session: SessionDep,
    principal: Annotated[Principal, scoped("enterprises:read")],
    filters: EnterpriseFilters,
):
    """导出与列表相同筛选条件的企业（文本单元格一律按字符串写入，防公式注入）。"""
    data = excel.export_enterprises(session, actor=principal, filters=filters)
    return Response(
        data, media_type=excel.XLSX, headers={"Content-Disposition": "attachment; filename=enterprises.xlsx"}
    )


@router.get(
    "/import-template.xlsx",
    summary="下载企业导入模板",
    responses={**file_response(excel.XLSX, "Excel 模板"), **responses(401, 403, 422)},
    response_class=StreamingResponse,
)
def import_template(principal: Annotated[Principal, scoped("enterprises:read")]):
    """中文表头的导入模板；导入时按表头识别列。"""
    return Response(
        excel.template_bytes(),
        media_type=excel.XLSX,
        headers={"Content-Disposition": "attachment; filename=enterprise-template.xlsx"},
    )


@router.post(
    "",
    summary="登记企业",
    status_code=201,
    response_model=EnterpriseRead,
    responses=responses(401, 403, 409, 422, 429),
)
def create_enterprise(
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, scoped("enterprises:write")],
    data: EnterpriseCreate,
    idempotency_key: Annotated[
        str | None, Header(description="幂等键：重试同一请求只登记一次", max_length=200)
    ] = None,
):
    """登记一家企业（可同时带年度数据和认定）。统一社会信用代码按 GB 32100-2015 校验且唯一。

    带 `Idempotency-Key` 时，同一键的重试返回首次的结果，不会重复登记。
    """
    reservation = None
    if idempotency_key is not None:
        body_hash = idempotency.request_hash(data.model_dump(mode="json"))
        reservation, replay = idempotency.reserve(session, principal, idempotency_key, body_hash)
        if replay is not None:
            status, body = replay
            return JSONResponse(body, status_code=status, headers={"ETag": etag(body["version"])})
    ent = enterprise_service.create(session, actor=principal, data=data)
    ent = enterprise_service.get(session, actor=principal, enterprise_id=ent.id)
    body = _read(ent)
    if reservation is not None:
        idempotency.complete(session, reservation, 201, body)
    return JSONResponse(
        body,
        status_code=201,
        headers={"ETag": etag(ent.version), "Location": f"/api/v1/enterprises/{ent.id}"},
    )


@router.get(
    "/by-uscc/{uscc}",
    summary="按统一社会信用代码查询企业",
    response_model=EnterpriseRead,
    responses=responses(401, 403, 404),
)
def get_enterprise_by_uscc(
    uscc: str,
    session: SessionDep,
    principal: Annotated[Principal, scoped("enterprises:read")],
    response: Response,
):
    ent = enterprise_service.get_by_uscc(session, actor=principal, uscc=uscc)
    response.headers["ETag"] = etag(ent.version)
    return ent


@router.get(
    "/{enterprise_id:int}",  # a number: /export.xlsx and /import are not enterprise ids
    summary="企业详情（含年度数据和认定）",
    response_model=EnterpriseRead,
    responses=responses(401, 403, 404),
)
async def get_enterprise(enterprise_id: int, reader: Annotated[Reader, reading("enterprises:read")]):
    """响应头 `ETag` 为当前版本，修改时放入 `If-Match`。"""
    data = EnterpriseRead.model_validate(
        await reader.run(enterprise_service.read, actor=reader.principal, enterprise_id=enterprise_id)
    )
    return rendered(data, {"ETag": etag(data.version)})


@router.patch(
    "/{enterprise_id:int}",  # a number: /export.xlsx and /import are not enterprise ids
    summary="修改企业（部分字段）",
    response_model=EnterpriseRead,
    responses=responses(401, 403, 404, 409, 412, 422, 428),
)
def update_enterprise(
    enterprise_id: int,
    _ent: CurrentEnterprise,
    data: EnterpriseUpdate,
    session: SessionDep,
    principal: Annotated[Principal, scoped("enterprises:write")],
    if_match: IfMatch,
):
    """只修改请求中出现的字段。必须带 `If-Match`：缺少返回 428，版本不符返回 412。"""
    version = parse_if_match(if_match)
    ent = enterprise_service.update(
        session, actor=principal, enterprise_id=enterprise_id, data=data, if_match=version, enterprise=_ent
    )
    # The record as written, read as GET reads it (one statement, no entities) and answered as a rendered
    # response: the transaction commits on this thread (app.db.finish_on_handler_thread), with no second and
    # third trip to the thread pool to check the answer against the schema and to commit.
    out = EnterpriseRead.model_validate(
        enterprise_service.read(session, actor=principal, enterprise_id=ent.id)
    )
    return rendered(out, {"ETag": etag(out.version)})


@router.delete(
    "/{enterprise_id:int}",  # a number: /export.xlsx and /import are not enterprise ids
    summary="注销（软删除）企业",
    status_code=204,
    responses=responses(401, 403, 404, 412, 428),
)
def delete_enterprise(
    enterprise_id: int,
    _ent: CurrentEnterprise,
    session: SessionDep,
    principal: Annotated[Principal, scoped("enterprises:write")],
    if_match: IfMatch,
):
    """软删除：记录保留，列表和查询不再出现。必须带 `If-Match`。"""
    enterprise_service.delete(
        session, actor=principal, enterprise_id=enterprise_id, if_match=parse_if_match(if_match)
    )
    return Response(status_code=204)


@router.put(
    "/{enterprise_id}/figures/{year}",
    summary="写入某年度数据",
    response_model=FigureRead,
    responses=responses(401, 403, 404, 422),
)
def put_figures(
    enterprise_id: int,
    _ent: CurrentEnterprise,
    year: int,
    data: FigureIn,
    session: SessionDep,
    principal: Annotated[Principal, scoped("enterprises:write")],
):
    """整体替换该企业该年度的数据（金额为整数元）。路径中的年度须与请求体一致。"""
    if data.year != year:
        raise ValidationFailed.one("year", "路径中的年度与请求体中的 year 不一致")
    row = enterprise_service.set_figures(
        session, actor=principal, enterprise_id=enterprise_id, figures=data, enterprise=_ent
    )
    return rendered(FigureRead.model_validate(row))  # rendered: committed on this thread, as PATCH


@router.post(
    "/{enterprise_id}/honours",
    summary="记录认定（新认定、复审、未通过）",
    status_code=201,
    response_model=HonourRecordedRead,
    responses=responses(401, 403, 404, 409, 422),
)
def add_honour(
    enterprise_id: int,
    _ent: CurrentEnterprise,
    data: HonourIn,
    session: SessionDep,
    principal: Annotated[Principal, scoped("enterprises:write")],
):
    """记录一条认定。新认定会自动按政策生成待审核的奖补（免申即享）。

    认定日期不在任何有效政策文件的有效期内（或有效文件中没有认定的奖补条款）时，认定照常记录，
    但不生成奖补，`warnings` 说明原因（最近的文件及其失效日期）。"""
    honour = enterprise_service.add_honour(session, actor=principal, enterprise_id=enterprise_id, honour=data)
    return HonourRecordedRead(
        **HonourRead.model_validate(honour).model_dump(),
        warnings=award_proposals.honour_warnings(session, honour),
    )


@router.delete(
    "/{enterprise_id}/honours/{honour_id}",
    summary="删除认定记录",
    status_code=204,
    responses=responses(401, 403, 404),
)
def delete_honour(
    enterprise_id: int,
    _ent: CurrentEnterprise,
    honour_id: PathId,
    session: SessionDep,
    principal: Annotated[Principal, scoped("enterprises:write")],
):
    enterprise_service.delete_honour(
        session, actor=principal, enterprise_id=enterprise_id, honour_id=honour_id
    )
    return Response(status_code=204)


@router.get(
    "/{enterprise_id}/history",
    summary="企业变更历史（审计记录）",
    response_model=list[AuditEntryRead],
    responses=responses(401, 403, 404),
)
def enterprise_history(
    enterprise_id: int, session: SessionDep, principal: Annotated[Principal, scoped("enterprises:read")]
):
    """谁、何时、改了什么（字段的修改前 → 修改后）。"""
    return enterprise_service.history(session, actor=principal, enterprise_id=enterprise_id)


class ImportSummary(BaseModel):
    created: int = Field(description="新登记企业数")
    figures: int = Field(description="写入的年度数据条数")


@router.post(
    "/import",
    summary="从 Excel 批量导入企业（全部成功或全部不写入）",
    response_model=ImportSummary,
    status_code=201,
    responses=responses(401, 403, 422),
)
def import_enterprises(
    session: SessionDep,
    principal: Annotated[Principal, scoped("enterprises:write")],
    file: Annotated[UploadFile, File()],
):
    """上传按模板填写的 .xlsx。任何一行有误则整个文件被拒绝，`errors` 列出每处错误的行、列和原因。"""
    data = file.file.read(get_settings().import_max_bytes + 1)
    result = excel.import_enterprises(session, actor=principal, data=data)
    return ImportSummary(created=result.created, figures=result.figures)
