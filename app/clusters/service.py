"""特色产业集群: record a cluster (name, level, date, lead enterprise, member firms), list and read them.

Recording a cluster also records the honour `cluster` on the enterprise that receives the award
(the recipient as recorded, by default the lead), once: the award lines of 冠政发〔2022〕9号
四（十） and 冠政办发〔2023〕7号 二（四）12 then go to that one firm, and the target table's
row 8 counts clusters. A cluster can never be recorded as an honour of a firm directly
(app.enterprises.service refuses the code), so one cluster cannot count or pay twice.
"""

from datetime import date

from sqlalchemy import extract, select
from sqlalchemy.orm import Session

from app.accounts.permissions import Principal
from app.audit import service as audit
from app.clusters.models import IndustryCluster, IndustryClusterMember
from app.clusters.schemas import ClusterFirm, ClusterIn, ClusterRead
from app.enterprises import service as enterprise_service
from app.enterprises.models import Enterprise
from app.enterprises.schemas import HonourIn
from app.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from app.reference import LEVEL_NAMES


def _require_county(actor: Principal, scope: str) -> None:
    actor.require(scope)
    if not actor.is_county:
        raise Forbidden("特色产业集群由县级登记和管理")


def _firms(session: Session, ids: set[int]) -> dict[int, Enterprise]:
    if not ids:
        return {}
    rows = session.scalars(select(Enterprise).where(Enterprise.id.in_(ids), Enterprise.deleted_at.is_(None)))
    return {e.id: e for e in rows}


def create(session: Session, *, actor: Principal, data: ClusterIn) -> IndustryCluster:
    """Record one recognition of a cluster; the recipient's honour record earns the award lines."""
    _require_county(actor, "enterprises:write")
    errors: list[FieldError] = []
    if data.recognised_date > date.today():
        errors.append(FieldError("recognised_date", f"认定日期 {data.recognised_date} 晚于今天"))
    recipient_id = data.recipient_enterprise_id or data.lead_enterprise_id
    wanted = {data.lead_enterprise_id, recipient_id, *data.member_enterprise_ids}
    firms = _firms(session, wanted)
    if data.lead_enterprise_id not in firms:
        errors.append(FieldError("lead_enterprise_id", f"未找到牵头企业 {data.lead_enterprise_id}"))
    if recipient_id not in firms and recipient_id != data.lead_enterprise_id:
        errors.append(FieldError("recipient_enterprise_id", f"未找到受领企业 {recipient_id}"))
    for i, eid in enumerate(data.member_enterprise_ids):
        if eid not in firms:
            errors.append(
                FieldError(f"member_enterprise_ids[{i}]", f"member_enterprise_ids[{i}]：未找到成员企业 {eid}")
            )
    if errors:
        raise ValidationFailed(errors)
    dup = session.scalar(
        select(IndustryCluster.id).where(
            IndustryCluster.name == data.name, IndustryCluster.level == data.level
        )
    )
    if dup is not None:
        raise Conflict(
            "该集群的这一级别认定已登记",
            errors=[FieldError("name", f"“{data.name}”的{LEVEL_NAMES[data.level]}认定已登记（集群 {dup}）")],
        )
    cluster = IndustryCluster(
        name=data.name,
        level=data.level,
        recognised_date=data.recognised_date,
        lead_enterprise_id=data.lead_enterprise_id,
        recipient_enterprise_id=recipient_id,
        certificate_no=data.certificate_no,
        note=data.note,
        created_by=actor.name,
    )
    session.add(cluster)
    session.flush()
    members = sorted({data.lead_enterprise_id, recipient_id, *data.member_enterprise_ids})
    session.add_all(IndustryClusterMember(cluster_id=cluster.id, enterprise_id=eid) for eid in members)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="create",
        entity_type="industry_cluster",
        entity_id=cluster.id,
        enterprise_id=recipient_id,
        township=firms[recipient_id].township,
        changes={
            "name": [None, data.name],
            "level": [None, data.level],
            "recognised_date": [None, data.recognised_date],
            "lead_enterprise_id": [None, data.lead_enterprise_id],
            "recipient_enterprise_id": [None, recipient_id],
            "members": [None, members],
        },
        note=f"登记{LEVEL_NAMES[data.level]}特色产业集群“{data.name}”",
    )
    honour = enterprise_service.record_cluster_honour(
        session,
        actor=actor,
        enterprise=firms[recipient_id],
        honour=HonourIn(
            code="cluster",
            level=data.level,
            outcome="new",
            honour_date=data.recognised_date,
            certificate_no=data.certificate_no,
        ),
    )
    cluster.honour_id = honour.id
    session.flush()
    return cluster


def get(session: Session, *, actor: Principal, cluster_id: int) -> IndustryCluster:
    _require_county(actor, "enterprises:read")
    cluster = session.get(IndustryCluster, cluster_id)
    if cluster is None:
        raise NotFound("未找到该特色产业集群")
    return cluster


def list_clusters(
    session: Session, *, actor: Principal, level: str | None = None, year: int | None = None
) -> list[IndustryCluster]:
    _require_county(actor, "enterprises:read")
    stmt = select(IndustryCluster)
    if level is not None:
        stmt = stmt.where(IndustryCluster.level == level)
    if year is not None:
        stmt = stmt.where(extract("year", IndustryCluster.recognised_date) == year)
    return list(
        session.scalars(stmt.order_by(IndustryCluster.recognised_date.desc(), IndustryCluster.id.desc()))
    )


def to_read(session: Session, cluster: IndustryCluster) -> ClusterRead:
    member_ids = list(
        session.scalars(
            select(IndustryClusterMember.enterprise_id).where(IndustryClusterMember.cluster_id == cluster.id)
        )
    )
    firms = {
        e.id: e
        for e in session.scalars(
            select(Enterprise).where(
                Enterprise.id.in_({cluster.lead_enterprise_id, cluster.recipient_enterprise_id, *member_ids})
            )
        )
    }

    def firm(eid: int) -> ClusterFirm:
        e = firms[eid]
        return ClusterFirm(id=e.id, name=e.name, township=e.township)

    return ClusterRead(
        id=cluster.id,
        name=cluster.name,
        level=cluster.level,
        level_name=LEVEL_NAMES[cluster.level],
        recognised_date=cluster.recognised_date,
        lead=firm(cluster.lead_enterprise_id),
        recipient=firm(cluster.recipient_enterprise_id),
        members=[firm(m) for m in sorted(member_ids)],
        honour_id=cluster.honour_id,
        certificate_no=cluster.certificate_no,
        note=cluster.note,
        created_by=cluster.created_by,
        created_at=cluster.created_at,
    )
