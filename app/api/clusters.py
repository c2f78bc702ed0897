"""JSON API for 特色产业集群: /api/v1/clusters (a cluster is a record of its own, not a firm's honour)."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from app.accounts.permissions import Principal
from app.api.problems import responses
from app.clusters import service
from app.clusters.schemas import ClusterIn, ClusterRead
from app.deps import PathId, SessionDep, scoped

router = APIRouter(prefix="/api/v1/clusters", tags=["clusters 特色产业集群"])


@router.post(
    "",
    summary="登记特色产业集群",
    status_code=201,
    response_model=ClusterRead,
    responses=responses(401, 403, 409, 422),
)
def create_cluster(
    data: ClusterIn, session: SessionDep, principal: Annotated[Principal, scoped("enterprises:write")]
):
    """登记一个特色产业集群的一次评选认定：名称、级别、认定日期、牵头企业、成员企业，以及奖励的受领企业
    （按认定文件登记，不填即牵头企业）。系统同时在受领企业上记录“特色产业集群”认定，按冠政发〔2022〕9号 四（十）、
    冠政办发〔2023〕7号 二（四）12 生成奖补（每个集群一次，只给受领企业）；目标表第 8 行按集群计数。
    同名集群的同一级别认定只能登记一次（409）。仅县级用户。"""
    return service.to_read(session, service.create(session, actor=principal, data=data))


@router.get(
    "", summary="特色产业集群列表", response_model=list[ClusterRead], responses=responses(401, 403, 422)
)
def list_clusters(
    session: SessionDep,
    principal: Annotated[Principal, scoped("enterprises:read")],
    level: Annotated[Literal["city", "provincial", "national"] | None, Query(description="级别")] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100, description="认定年度")] = None,
):
    """按认定日期倒序列出集群，可按级别、年度筛选。仅县级用户。"""
    return [
        service.to_read(session, c)
        for c in service.list_clusters(session, actor=principal, level=level, year=year)
    ]


@router.get(
    "/{cluster_id}",
    summary="特色产业集群详情",
    response_model=ClusterRead,
    responses=responses(401, 403, 404),
)
def get_cluster(
    cluster_id: PathId, session: SessionDep, principal: Annotated[Principal, scoped("enterprises:read")]
):
    """一个集群：牵头企业、成员企业、受领企业及其认定记录。"""
    return service.to_read(session, service.get(session, actor=principal, cluster_id=cluster_id))
