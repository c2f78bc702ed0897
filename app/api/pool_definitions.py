"""JSON API for pool definitions as versioned data: download, draft, publish on a date.

The YAML of app/pools/definitions.yaml is the exchange format: what `definitions.yaml` returns
uploads again unchanged through `PUT /api/v1/pools/definitions/draft`. Registered before the
pools router, so `definitions` is never read as a pool code.
"""

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from app.accounts.permissions import Principal
from app.api.problems import file_response, responses
from app.deps import SessionDep, scoped
from app.errors import ValidationFailed
from app.pools import store
from app.pools.models import PoolDefinitionVersion

router = APIRouter(prefix="/api/v1/pools/definitions", tags=["pools 培育库"])

YAML = "application/yaml"
Write = Annotated[Principal, scoped(store.WRITE_SCOPE)]
Read = Annotated[Principal, scoped("pools:read")]


class DefinitionVersionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    status: Literal["draft", "published"] = Field(description="draft 草稿 / published 已发布")
    origin: Literal["shipped", "edited"] = Field(description="shipped 安装包自带 / edited 在系统中编辑")
    effective_from: date | None = Field(description="生效日期：此日起入库的企业按该版本判断")
    content_hash: str = Field(description="YAML 文本的 sha256")
    source_id: int | None = Field(description="以哪个版本为底稿")
    created_by: str
    published_by: str | None
    published_at: datetime | None
    pools: list[str] = Field(description="该版本的培育库代码")


def _read(session, v: PoolDefinitionVersion) -> DefinitionVersionRead:
    return DefinitionVersionRead.model_validate(
        {
            **{k: getattr(v, k) for k in DefinitionVersionRead.model_fields if k != "pools"},
            "pools": [p.code for p in store.parse(v.content).pools],
        }
    )


class PublishIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    effective_from: date = Field(
        description="生效日期：此日及以后入库的企业按新版本判断；之前入库的保留原版本",
        examples=["2027-01-01"],
    )


async def yaml_body(request: Request) -> str:
    """The request body as UTF-8 YAML text, read before the handler runs on a worker thread."""
    raw = await request.body()
    if len(raw) > store.MAX_BYTES:
        raise ValidationFailed.one("yaml", f"文件过大（超过 {store.MAX_BYTES // 1024} KB）")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationFailed.one("yaml", "应为 UTF-8 编码的 YAML 文本") from None


_YAML_BODY = {"requestBody": {"required": True, "content": {YAML: {"schema": {"type": "string"}}}}}


@router.get(
    "",
    summary="培育库定义的全部版本",
    response_model=list[DefinitionVersionRead],
    responses=responses(401, 403, 422),
)
def list_versions(session: SessionDep, principal: Read):
    """从新到旧：草稿与已发布的版本，各带生效日期、发布人和内容 sha256。"""
    return [_read(session, v) for v in store.versions(session)]


@router.get(
    "/definitions.yaml",
    summary="下载培育库定义（YAML）",
    response_class=Response,
    responses={**responses(401, 403, 404, 422), **file_response(YAML, "YAML 文本")},
)
def download(
    session: SessionDep,
    principal: Read,
    status: Annotated[
        Literal["published", "draft"], Query(description="published 今天有效的版本（默认）/ draft 草稿")
    ] = "published",
):
    """返回的文本原样上传（`PUT …/draft`）即得到同一定义；`ETag` 为版本（sha256）。"""
    v = store.document_yaml(session, actor=principal, status=status)
    return Response(
        v.content,
        media_type=f"{YAML}; charset=utf-8",
        headers={
            "ETag": f'"{v.content_hash}"',
            "Content-Disposition": 'attachment; filename="definitions.yaml"',
        },
    )


@router.put(
    "/draft",
    summary="保存草稿（YAML）",
    response_model=DefinitionVersionRead,
    responses=responses(401, 403, 422),
    openapi_extra=_YAML_BODY,
)
def put_draft(session: SessionDep, principal: Write, content: Annotated[str, Depends(yaml_body)]):
    """请求体为 YAML（`Content-Type: application/yaml`），格式同 `definitions.yaml`。已有草稿则替换。

    任何错误返回 422，`errors` 逐条指明培育库、入库类别和字段（如“培育库“育苗库”，入库类别“小升规企业”，
    第 1 项入库条件，字段 min_yuan（下限（元））：“一千万”不是整数”），不写入任何内容。"""
    return _read(session, store.put_draft(session, actor=principal, content=content))


@router.post(
    "/draft/copy",
    summary="复制今天有效的定义为草稿",
    status_code=201,
    response_model=DefinitionVersionRead,
    responses=responses(401, 403, 409, 422),
)
def copy_draft(session: SessionDep, principal: Write):
    return _read(session, store.copy_as_draft(session, actor=principal))


@router.delete("/draft", summary="删除草稿", status_code=204, responses=responses(401, 403, 404, 422))
def delete_draft(session: SessionDep, principal: Write):
    store.discard_draft(session, actor=principal)
    return Response(status_code=204)


@router.post(
    "/publish",
    summary="发布草稿（自生效日期起）",
    response_model=DefinitionVersionRead,
    responses=responses(401, 403, 409, 422),
)
def publish(data: PublishIn, session: SessionDep, principal: Write):
    """草稿自 `effective_from` 起生效：此后入库的企业记录新版本，已在库的企业保留入库时的版本。
    没有草稿（包括他人同时发布）返回 409。"""
    return _read(session, store.publish(session, actor=principal, effective_from=data.effective_from))
