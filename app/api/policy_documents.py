"""JSON API for policy documents as versioned data: download, drafts, rule cases, publish, withdraw.

The YAML schema (app/policies/schema.py) is the exchange format: what `document.yaml` returns
uploads again unchanged through `PUT …/draft`.
"""

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from app.accounts.permissions import Principal
from app.api.problems import file_response, responses
from app.deps import SessionDep, scoped
from app.errors import NotFound, ValidationFailed
from app.policies import cases as case_runner
from app.policies import store
from app.policies.models import PolicyVersion

router = APIRouter(prefix="/api/v1/policies", tags=["policies 政策"])

YAML = "application/yaml"
Code = Annotated[str, Field(pattern=r"^[a-z0-9-]+$", max_length=40)]


class VersionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str = Field(examples=["gzb2024-3"])
    status: Literal["draft", "published", "superseded", "withdrawn"] = Field(
        description="draft 草稿 / published 已发布 / superseded 已被新版本取代 / withdrawn 已撤回"
    )
    origin: Literal["shipped", "edited"] = Field(description="shipped 安装包自带 / edited 在系统中编辑")
    number: str = Field(description="文号", examples=["冠政办发〔2024〕3号"])
    title: str
    issue_date: date
    in_force_start: date
    in_force_end: date
    content_hash: str = Field(description="版本：YAML 文本的 sha256，奖补记录引用的就是它")
    source_id: int | None = Field(description="以哪个版本为底稿")
    created_by: str
    published_by: str | None
    published_at: datetime | None
    ended_by: str | None


def _read(v: PolicyVersion) -> VersionRead:
    return VersionRead.model_validate(v)


class CopyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Code = Field(description="新文件代码（规则编号的前缀）", examples=["gzb2024-3"])
    number: str = Field(min_length=1, max_length=100, description="新文号", examples=["冠政办发〔2024〕3号"])
    start: date = Field(description="有效期起", examples=["2024-01-01"])
    end: date = Field(description="有效期止", examples=["2024-12-31"])
    issue_date: date | None = Field(default=None, description="印发日期；不填为有效期起")
    title: str | None = Field(default=None, max_length=500)


class WithdrawIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500, description="撤回原因")


class CaseResultRead(BaseModel):
    name: str
    clause: str
    figure: str
    passed: bool
    expected: list[str] = Field(description="预期的奖补行：出资层级 规则 金额")
    computed: list[str] = Field(description="按草稿算得的奖补行")
    problems: list[str]


class CaseReport(BaseModel):
    code: str
    passed: bool
    failed: int
    error: str | None
    results: list[CaseResultRead]


async def _yaml_body(request: Request, field: str = "document") -> str:
    raw = await request.body()
    if len(raw) > store.MAX_BYTES:
        raise ValidationFailed.one(field, f"{field}：文件过大（超过 {store.MAX_BYTES // 1000} KB）")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationFailed.one(field, f"{field}：应为 UTF-8 编码的 YAML 文本") from None


_YAML_BODY = {"requestBody": {"required": True, "content": {YAML: {"schema": {"type": "string"}}}}}


@router.get(
    "/{code}/versions",
    summary="政策文件的全部版本",
    response_model=list[VersionRead],
    responses=responses(401, 403, 404, 422),
)
def list_versions(code: str, session: SessionDep, principal: Annotated[Principal, scoped("policies:read")]):
    """从新到旧：草稿、已发布、已被取代、已撤回的版本，各带发布人、时间和内容 sha256。没有该文件代码时 404。"""
    found = store.versions(session, code)
    if not found:
        raise NotFound(f"没有政策文件 {code}")
    return [_read(v) for v in found]


@router.get(
    "/{code}/document.yaml",
    summary="下载政策文件（YAML）",
    response_class=Response,
    responses={**responses(401, 403, 404, 422), **file_response(YAML, "YAML 文本")},
)
def document_yaml(
    code: str,
    session: SessionDep,
    principal: Annotated[Principal, scoped("policies:read")],
    status: Annotated[
        Literal["published", "draft"], Query(description="published 已发布版本（默认）/ draft 草稿")
    ] = "published",
):
    """返回的文本原样上传（`PUT …/draft`）即得到同一文件；`ETag` 为版本（sha256）。"""
    v = store.document_yaml(session, actor=principal, code=code, status=status)
    return Response(
        v.content,
        media_type=f"{YAML}; charset=utf-8",
        headers={"ETag": f'"{v.content_hash}"', "Content-Disposition": f'attachment; filename="{code}.yaml"'},
    )


@router.put(
    "/{code}/draft",
    summary="保存草稿（YAML）",
    response_model=VersionRead,
    responses=responses(401, 403, 404, 422),
    openapi_extra=_YAML_BODY,
)
async def put_draft(
    code: str,
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, scoped("policies:write")],
):
    """请求体为 YAML（`Content-Type: application/yaml`），格式同 `document.yaml`。已有草稿则替换。

    任何错误返回 422，`errors` 逐条指明规则编号和字段（如“规则 gzb2024-3.county.x：amount.yuan（金额（元））：应为整数”），
    不写入任何内容。草稿不参与奖补、匹配和测算，除非请求点名使用。
    """
    content = await _yaml_body(request)
    return _read(store.put_draft(session, actor=principal, code=code, content=content))


@router.delete("/{code}/draft", summary="删除草稿", status_code=204, responses=responses(401, 403, 404, 422))
def delete_draft(code: str, session: SessionDep, principal: Annotated[Principal, scoped("policies:write")]):
    store.discard_draft(session, actor=principal, code=code)
    return Response(status_code=204)


@router.post(
    "/{code}/copy",
    summary="以现有文件为底稿新建",
    status_code=201,
    response_model=VersionRead,
    responses=responses(401, 403, 404, 422),
)
def copy_document(
    code: str, data: CopyIn, session: SessionDep, principal: Annotated[Principal, scoped("policies:write")]
):
    """把已发布的 `code` 复制为新文件代码的草稿：规则和资金编号改用新代码，文号、印发日期、有效期和资金期间改为新的，
    金额、条款和条件原样保留待修改；测试用例一并复制。"""
    return _read(
        store.copy_as_draft(
            session,
            actor=principal,
            source_code=code,
            code=data.code,
            number=data.number,
            start=data.start,
            end=data.end,
            issue_date=data.issue_date,
            title=data.title,
        )
    )


@router.get(
    "/{code}/draft/cases.yaml",
    summary="草稿的测试用例（YAML）",
    response_class=Response,
    responses={**responses(401, 403, 404, 422), **file_response(YAML, "YAML 文本")},
)
def get_cases(
    code: str,
    session: SessionDep,
    principal: Annotated[Principal, scoped("policies:read")],
    status: Annotated[Literal["published", "draft"], Query()] = "draft",
):
    v = store.document_yaml(session, actor=principal, code=code, status=status)
    return Response(v.cases or "", media_type=f"{YAML}; charset=utf-8")


@router.put(
    "/{code}/draft/cases",
    summary="保存草稿的测试用例（YAML）",
    response_model=CaseReport,
    responses=responses(401, 403, 404, 422),
    openapi_extra=_YAML_BODY,
)
async def put_cases(
    code: str,
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, scoped("policies:write")],
):
    """用例格式同 app/policies/cases/*.yaml；保存后立即运行并返回结果。格式错误为 422，不写入。"""
    content = await _yaml_body(request, "cases")
    store.put_cases(session, actor=principal, code=code, content=content)
    return _report(case_runner.run(session, code=code, draft=True))


def _report(r: case_runner.Report) -> CaseReport:
    return CaseReport(
        code=r.code,
        passed=r.passed,
        failed=r.failed,
        error=r.error,
        results=[CaseResultRead(**vars(x)) for x in r.results],
    )


@router.post(
    "/{code}/draft/test",
    summary="运行草稿的测试用例",
    response_model=CaseReport,
    responses=responses(401, 403, 404, 422),
)
def test_draft(code: str, session: SessionDep, principal: Annotated[Principal, scoped("policies:read")]):
    """以已发布的文件加上本草稿（替换其已发布版本）计算每条用例，给出预期与算得的奖补行。"""
    return _report(case_runner.run(session, code=code, draft=True))


class FundImpact(BaseModel):
    name: str
    funder: str
    remaining_yuan: int | None = Field(description="资金余额（草稿所列资金按预算计）")
    current_yuan: int = Field(description="按现行文件测算的支出")
    draft_yuan: int = Field(description="按草稿测算的支出")
    difference_yuan: int
    after_yuan: int | None = Field(description="按草稿支出后的余额；为负即不够")


class ImpactRead(BaseModel):
    code: str
    number: str
    scenario: Literal["events", "targets"]
    scenarios: int = Field(description="测算的事件（或目标表行）数")
    notes: list[str]
    current_by_funder: dict[str, int]
    draft_by_funder: dict[str, int]
    difference_by_funder: dict[str, int]
    current_total_yuan: int
    draft_total_yuan: int
    by_fund: list[FundImpact]


def impact_read(i) -> ImpactRead:
    diff = i.difference()
    cur = {(f.code or f.name): f.forecast_yuan for f in i.current.by_fund}
    funds = []
    for f in i.draft.by_fund:
        key = f.code or f.name
        funds.append(
            FundImpact(
                name=f.name,
                funder=f.funder,
                remaining_yuan=f.remaining_yuan,
                current_yuan=cur.get(key, 0),
                draft_yuan=f.forecast_yuan,
                difference_yuan=diff["by_fund"].get(key, 0),
                after_yuan=f.after_yuan,
            )
        )
    for f in i.current.by_fund:
        if (f.code or f.name) not in {x.code or x.name for x in i.draft.by_fund}:
            funds.append(
                FundImpact(
                    name=f.name,
                    funder=f.funder,
                    remaining_yuan=f.remaining_yuan,
                    current_yuan=f.forecast_yuan,
                    draft_yuan=0,
                    difference_yuan=-f.forecast_yuan,
                    after_yuan=f.remaining_yuan,
                )
            )
    return ImpactRead(
        code=i.code,
        number=i.number,
        scenario=i.scenario,
        scenarios=i.events,
        notes=i.notes,
        current_by_funder=i.current.by_funder,
        draft_by_funder=i.draft.by_funder,
        difference_by_funder=diff["by_funder"],
        current_total_yuan=i.current.total_yuan,
        draft_total_yuan=i.draft.total_yuan,
        by_fund=funds,
    )


@router.get(
    "/{code}/draft/impact",
    summary="发布前测算：草稿与现行文件对比",
    response_model=ImpactRead,
    responses=responses(401, 403, 404, 422),
)
def draft_impact(
    code: str,
    session: SessionDep,
    principal: Annotated[Principal, scoped("awards:read")],
    scenario: Annotated[
        Literal["events", "targets"],
        Query(description="events 上一年已记录的事件顺延一年 / targets 2023 年目标表全部完成"),
    ] = "events",
):
    """用系统现有的测算，分别按现行已发布文件和按本草稿（替换其已发布版本）计算同一批事件，
    按出资层级和资金列出支出、资金余额及与现行规则的差额。"""
    from app.policies.impact import impact

    return impact_read(impact(session, actor=principal, code=code, scenario=scenario))


@router.post(
    "/{code}/publish",
    summary="发布草稿",
    response_model=VersionRead,
    responses=responses(401, 403, 404, 409, 422),
)
def publish(code: str, session: SessionDep, principal: Annotated[Principal, scoped("policies:write")]):
    """草稿成为该文件代码的已发布版本（原已发布版本标为“已被新版本取代”），文件列出的资金随之设立。

    草稿不合规、或任一测试用例未通过时返回 409，`errors` 列出原因；两人同时发布只会有一个已发布版本，
    另一人得到 409。
    """
    return _read(store.publish(session, actor=principal, code=code))


@router.post(
    "/{code}/withdraw",
    summary="撤回已发布的文件",
    response_model=VersionRead,
    responses=responses(401, 403, 404, 409, 422),
)
def withdraw(
    code: str,
    data: WithdrawIn,
    session: SessionDep,
    principal: Annotated[Principal, scoped("policies:write")],
):
    """撤回后不再按该文件匹配和生成奖补；已生成的奖补仍引用其版本，可照原样重算。"""
    return _read(store.withdraw(session, actor=principal, code=code, reason=data.reason))
