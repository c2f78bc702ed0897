"""JSON API for the cultivation pools (培育库): /api/v1/pools and /api/v1/enterprises/{id}/pools."""

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Path, Query, UploadFile

from app.accounts.permissions import Principal
from app.api.problems import responses
from app.config import get_settings
from app.deps import CurrentEnterprise, PathId, SessionDep, scoped
from app.enterprises.schemas import MuClass
from app.filters import PoolApiFilters
from app.pagination import Cursor
from app.pools import common, listing, mu_provisional
from app.pools import definitions as pool_definitions
from app.pools import graduation as pool_graduation
from app.pools import membership as pool_membership
from app.pools import mu_records as pool_mu_records
from app.pools import review as pool_review
from app.pools import status as pool_status
from app.pools.models import LEAVE_REASONS
from app.pools.schemas import (
    CandidatePage,
    CandidateRow,
    CriterionRead,
    EnterIn,
    EnterpriseMuRead,
    EnterprisePoolRead,
    EnterprisePoolStatus,
    EntryClassStatus,
    GraduationConfirm,
    GraduationDismiss,
    GraduationRead,
    LeaveIn,
    MemberPage,
    MemberRow,
    MembershipRead,
    MuClassIn,
    MuClassRead,
    MuImportResult,
    MuPage,
    MuProvisionalResult,
    MuRow,
    MuSchemeIn,
    MuSchemeRead,
    MuYearRead,
    PoolDetail,
    PoolList,
    PoolSummary,
    ReviewConfirm,
    ReviewEntering,
    ReviewLeaving,
    ReviewPlan,
    ReviewResult,
)

router = APIRouter(tags=["pools 培育库"])


def errors(*codes: int) -> dict:
    """Every operation documents 401, 403, 422 and 429 as problem+json, plus its own."""
    return responses(*sorted({401, 403, 422, 429, *codes}))


Read = Annotated[Principal, scoped("pools:read")]
Write = Annotated[Principal, scoped("pools:write")]


# --- conversions (no queries here) -----------------------------------------------------------


def membership_read(m) -> MembershipRead:
    return MembershipRead.model_validate(m).model_copy(
        update={
            "entry_class_name": common.class_name(m.pool, m.entry_class),
            "leave_reason_name": LEAVE_REASONS.get(m.leave_reason) if m.leave_reason else None,
        }
    )


def graduation_read(g, ent=None) -> GraduationRead:
    pool_def = pool_definitions.load_pools().get(g.pool)
    return GraduationRead.model_validate(g).model_copy(
        update={
            "enterprise_name": ent.name if ent is not None else None,
            "township": ent.township if ent is not None else None,
            "next_pools": list(pool_def.next_pools) if pool_def else [],
        }
    )


Limit = Annotated[int, Query(ge=1, le=500)]


# --- pools -----------------------------------------------------------------------------------


@router.get(
    "/api/v1/pools", summary="培育库列表（含现有成员数）", response_model=PoolList, responses=errors()
)
def list_pools(session: SessionDep, principal: Read, cursor: Cursor = None, limit: Limit = 50):
    """全部培育库及其依据文件和条款、现有成员数（按乡镇分列）和待确认的毕业提议数。乡镇工作人员只计本乡镇。

    按 definitions.yaml 的顺序；与其他列表一样以 cursor/limit 分页（目前一页即可列完）。"""
    rows, next_cursor = listing.overview_page(session, actor=principal, cursor=cursor, limit=limit)
    items = [
        PoolSummary(
            code=o.pool_def.code,
            name=o.pool_def.name,
            document=o.pool_def.document,
            clause=o.pool_def.clause,
            tier=o.pool_def.tier,
            in_force_start=o.pool_def.in_force.start,
            in_force_end=o.pool_def.in_force.end,
            member_count=o.member_count,
            by_township=o.by_township,
            pending_graduations=o.pending_graduations,
        )
        for o in rows
    ]
    return PoolList(items=items, next_cursor=next_cursor)


# --- 亩产效益 (declared before /{pool_code} routes) -------------------------------------------


def _scheme_read(session) -> MuSchemeRead:
    scheme, setting = mu_provisional.effective_scheme(session)
    default = pool_definitions.load_mu_scheme()
    return MuSchemeRead(
        code=scheme.code,
        name=scheme.name,
        source=scheme.source,
        customised=setting is not None,
        updated_by=setting.updated_by if setting else None,
        updated_at=setting.updated_at if setting else None,
        indicators=[i.model_dump() for i in scheme.indicators],
        bands=[b.model_dump() for b in scheme.bands],
        defaults={
            "weights": {i.code: i.weight for i in default.indicators},
            "bands": [b.model_dump() for b in default.bands],
        },
    )


@router.get(
    "/api/v1/pools/mu/scheme", summary="亩产效益暂定分类方案", response_model=MuSchemeRead, responses=errors()
)
def get_mu_scheme(session: SessionDep, principal: Read):
    """五项指标、权重与分档比例。权重与分档非冠县文件规定，为系统默认值，管理员可调整。"""
    return _scheme_read(session)


@router.put(
    "/api/v1/pools/mu/scheme",
    summary="调整亩产效益权重与分档（管理员）",
    response_model=MuSchemeRead,
    responses=errors(),
)
def set_mu_scheme(data: MuSchemeIn, session: SessionDep, principal: Write):
    """只改请求中给出的指标权重；给出 bands 时整体替换分档（A、B、C、D 顺序，合计 100%）。"""
    mu_provisional.set_scheme(session, actor=principal, data=data)
    return _scheme_read(session)


@router.delete(
    "/api/v1/pools/mu/scheme",
    summary="亩产效益方案恢复默认（管理员）",
    response_model=MuSchemeRead,
    responses=errors(),
)
def reset_mu_scheme(session: SessionDep, principal: Write):
    """删除管理员的调整，恢复 definitions.yaml 中的默认权重与分档（已测算的暂定分类需重新测算）。"""
    mu_provisional.reset_scheme(session, actor=principal)
    return _scheme_read(session)


@router.post(
    "/api/v1/pools/mu/import",
    summary="导入县亩产效益评价名单（.xlsx，全部成功或全部不写入）",
    response_model=MuImportResult,
    status_code=201,
    responses=errors(),
)
def import_mu(
    session: SessionDep,
    principal: Write,
    year: Annotated[int, Form(ge=2000, le=2100, description="评价年度")],
    file: Annotated[UploadFile, File(description="两列：统一社会信用代码、亩产效益类别（A–D）")],
):
    """任何一行有误（信用代码校验位错、未登记、类别不是 A–D、重复）则整个文件被拒绝，errors 列出每处错误的行。"""
    data = file.file.read(get_settings().import_max_bytes + 1)
    recorded, changed = pool_mu_records.import_mu_classes(session, actor=principal, year=year, data=data)
    return MuImportResult(year=year, recorded=recorded, changed=changed)


@router.post(
    "/api/v1/pools/mu/{year:int}/provisional",
    summary="按年度数据测算亩产效益暂定分类",
    response_model=MuProvisionalResult,
    responses=errors(404),
)
def compute_provisional(year: int, session: SessionDep, principal: Write):
    """对该年度有数据的全部企业计算指标值、百分位和加权得分并分档，替换该年度上次的测算结果。已评价的类别优先于暂定类别。"""
    s = mu_provisional.compute_provisional(session, actor=principal, year=year)
    return MuProvisionalResult(
        year=s.year, ranked=s.ranked, unranked=s.unranked, classes=s.classes, weights=s.weights, notes=s.notes
    )


@router.get(
    "/api/v1/pools/mu/{year:int}",
    summary="各企业亩产效益类别、指标值和排名",
    response_model=MuPage,
    responses=errors(404),
)
def mu_list(
    year: int,
    session: SessionDep,
    principal: Read,
    township: Annotated[list[str] | None, Query(description="乡镇代码，可多选")] = None,
    mu_class: Annotated[list[MuClass] | None, Query(description="生效的亩产效益类别 A–D，可多选")] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
):
    """按暂定排名从高到低；mu_class 为生效的类别（已评价优先，其次暂定，再次企业登记）。"""
    rows, next_cursor, year = mu_provisional.mu_page(
        session,
        actor=principal,
        year=year,
        township=township,
        mu_class=list(mu_class) if mu_class else None,
        q=q,
        cursor=cursor,
        limit=limit,
    )
    items = [
        MuRow(
            enterprise_id=r.enterprise.id,
            enterprise_name=r.enterprise.name,
            uscc=r.enterprise.uscc,
            township=r.enterprise.township,
            recorded_class=r.record.mu_class if r.record else None,
            recorded_source=r.record.source if r.record else None,
            provisional_class=r.provisional.mu_class if r.provisional else None,
            provisional_rank=r.provisional.rank if r.provisional else None,
            provisional_score=r.provisional.score if r.provisional else None,
            ranked=r.provisional.ranked if r.provisional else None,
            indicators=r.provisional.indicators if r.provisional else {},
            notes=r.provisional.notes if r.provisional else [],
            mu_class=r.mu_class,
        )
        for r in rows
    ]
    return MuPage(items=items, next_cursor=next_cursor, year=year)


# --- graduation ------------------------------------------------------------------------------


@router.post(
    "/api/v1/pools/graduations/{proposal_id}/confirm",
    summary="确认毕业：出库并可转入下一级培育库",
    response_model=GraduationRead,
    responses=errors(404, 409),
)
def confirm_graduation(proposal_id: PathId, data: GraduationConfirm, session: SessionDep, principal: Write):
    """以“升规”或“认定成功”出库；给出 next_pool 时同时转入该库（须符合其入库条件）。全部成功或全部不写入。"""
    g, _ = pool_graduation.confirm_graduation(session, actor=principal, proposal_id=proposal_id, data=data)
    return graduation_read(g)


@router.post(
    "/api/v1/pools/graduations/{proposal_id}/dismiss",
    summary="驳回毕业提议",
    response_model=GraduationRead,
    responses=errors(404, 409),
)
def dismiss_graduation(proposal_id: PathId, data: GraduationDismiss, session: SessionDep, principal: Write):
    """企业留在库中，提议标记为已驳回。"""
    return graduation_read(
        pool_graduation.dismiss_graduation(session, actor=principal, proposal_id=proposal_id, note=data.note)
    )


# --- one pool --------------------------------------------------------------------------------


@router.get(
    "/api/v1/pools/{pool_code}", summary="培育库定义", response_model=PoolDetail, responses=errors(404)
)
def get_pool(pool_code: str, session: SessionDep, principal: Read):
    """依据文件与条款、入库类别及其条件（document 文件规定 / proxy 系统补充）、培育目标、动态调整条款。"""
    pool_def = common.get_pool_def(session, pool_code)
    counts = listing.member_counts(session, actor=principal).get(pool_code, {})
    return PoolDetail(
        code=pool_def.code,
        name=pool_def.name,
        member_count=sum(counts.values()),
        definition=pool_def.model_dump(mode="json"),
    )


def member_row(r) -> MemberRow:
    e = r.enterprise
    return MemberRow(
        membership=membership_read(r.membership),
        enterprise_name=e.name,
        uscc=e.uscc,
        township=e.township,
        above_scale=e.above_scale,
        size=e.size,
        revenue_yuan=r.revenue_yuan,
        main_revenue_yuan=r.main_revenue_yuan,
        candidacy=r.candidacy,
        mu_class=r.mu_class,
        mu_class_source=r.mu_source,
    )


@router.get(
    "/api/v1/pools/{pool_code}/members",
    summary="培育库成员（游标分页）",
    response_model=MemberPage,
    responses=errors(404),
)
def list_members(
    pool_code: str,
    session: SessionDep,
    principal: Read,
    filters: PoolApiFilters,
    include_left: Annotated[bool, Query(description="包括已出库的记录（完整历史）")] = False,
    cursor: Cursor = None,
    limit: Limit = 50,
):
    """现有成员（include_left=true 时含历史记录），按企业名称排序。candidacy 为按所选年度数据的判断：仍符合、待人工判断、数据不全、不再符合。"""
    rows, next_cursor, year = listing.members_page(
        session,
        actor=principal,
        pool_code=pool_code,
        filters=filters,
        include_left=include_left,
        cursor=cursor,
        limit=limit,
    )
    return MemberPage(items=[member_row(r) for r in rows], next_cursor=next_cursor, year=year)


@router.post(
    "/api/v1/pools/{pool_code}/members",
    summary="入库",
    status_code=201,
    response_model=MembershipRead,
    responses=errors(404, 409),
)
def enter_pool(pool_code: str, data: EnterIn, session: SessionDep, principal: Write):
    """按入库类别入库。任一可核查的条件不符合则拒绝（422，说明所用数据）；需人工判断或缺少数据的条件照录在 entry_evaluation 中。
    已在库中为 409。"""
    return membership_read(pool_membership.enter(session, actor=principal, pool_code=pool_code, data=data))


@router.post(
    "/api/v1/pools/{pool_code}/members/{enterprise_id}/leave",
    summary="出库",
    response_model=MembershipRead,
    responses=errors(404, 409),
)
def leave_pool(
    pool_code: str,
    enterprise_id: int,
    _ent: CurrentEnterprise,
    data: LeaveIn,
    session: SessionDep,
    principal: Write,
):
    """记录出库日期与原因（升规、认定成功、不再符合、注销……）；入库记录保留为历史。不在库中为 409。"""
    m = pool_membership.leave(
        session, actor=principal, pool_code=pool_code, enterprise_id=enterprise_id, data=data
    )
    return membership_read(m)


def candidate_row(r) -> CandidateRow:
    e = r.enterprise
    return CandidateRow(
        enterprise_id=e.id,
        enterprise_name=e.name,
        uscc=e.uscc,
        township=e.township,
        above_scale=e.above_scale,
        size=e.size,
        industry=e.industry,
        revenue_yuan=r.revenue_yuan,
        main_revenue_yuan=r.main_revenue_yuan,
        candidacy=r.candidacy,
        classes=r.classes,
        mu_class=r.mu_class,
        mu_class_source=r.mu_source,
    )


@router.get(
    "/api/v1/pools/{pool_code}/candidates",
    summary="候选企业（符合可核查条件、尚未入库）",
    response_model=CandidatePage,
    responses=errors(404),
)
def list_candidates(
    pool_code: str,
    session: SessionDep,
    principal: Read,
    filters: PoolApiFilters,
    cursor: Cursor = None,
    limit: Limit = 50,
):
    """在数据库中按所选年度数据计算：符合全部条件为 met；可核查的条件均符合、其余需人工判断为 judgement（待人工判断）。
    counts 为各乡镇的候选数。"""
    rows, next_cursor, year = listing.candidates_page(
        session, actor=principal, pool_code=pool_code, filters=filters, cursor=cursor, limit=limit
    )
    counts, _ = listing.candidate_counts(session, actor=principal, pool_code=pool_code, filters=filters)
    return CandidatePage(
        items=[candidate_row(r) for r in rows], next_cursor=next_cursor, year=year, counts=counts
    )


@router.get(
    "/api/v1/pools/{pool_code}/review",
    summary="年度动态调整：建议出库与新符合条件的企业",
    response_model=ReviewPlan,
    responses=errors(404),
)
def get_review(
    pool_code: str,
    session: SessionDep,
    principal: Read,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
):
    """冠政发〔2022〕9号 三（二）、五（四）：按该年度数据，列出不再符合（或已达成目标、已注销）的成员和新符合条件的企业。"""
    plan = pool_review.review_plan(session, actor=principal, pool_code=pool_code, year=year, limit=limit)
    leaving = [
        ReviewLeaving(
            enterprise_id=r.enterprise.id,
            enterprise_name=r.enterprise.name,
            township=r.enterprise.township,
            membership_id=r.membership.id,
            entry_class=r.membership.entry_class,
            entered_date=r.membership.entered_date,
            candidacy=r.candidacy,
            proposed_reason=r.proposed_reason,
            proposed_reason_name=LEAVE_REASONS[r.proposed_reason],
            deleted=r.enterprise.deleted_at is not None,
            other_classes=r.other_classes,
        )
        for r in plan.leaving + plan.missing_data
    ]
    return ReviewPlan(
        pool=pool_code,
        year=plan.year,
        kept=plan.kept,
        leaving=leaving[: len(plan.leaving)],
        missing_data=leaving[len(plan.leaving) :],
        entering=[
            ReviewEntering(
                enterprise_id=r.enterprise.id,
                enterprise_name=r.enterprise.name,
                township=r.enterprise.township,
                candidacy=r.candidacy,
                entry_class=r.entry_class,
                previous_candidacy=r.previous_candidacy,
                revenue_yuan=r.revenue_yuan,
                main_revenue_yuan=r.main_revenue_yuan,
            )
            for r in plan.entering
        ],
        entering_total=plan.entering_total,
        truncated=plan.truncated,
    )


@router.post(
    "/api/v1/pools/{pool_code}/review",
    summary="确认年度动态调整（批量，全部成功或全部不写入）",
    response_model=ReviewResult,
    status_code=201,
    responses=errors(404),
)
def confirm_review(pool_code: str, data: ReviewConfirm, session: SessionDep, principal: Write):
    """一次请求提交全部出库和入库；任何一项被拒绝（如不符合入库条件、不在库中、企业不存在），全部不写入，errors 指明第几项。"""
    review = pool_review.confirm_review(session, actor=principal, pool_code=pool_code, data=data)
    return ReviewResult(review_id=review.id, entered=review.entered_count, left=review.left_count)


@router.get(
    "/api/v1/pools/{pool_code}/graduations",
    summary="毕业提议",
    response_model=list[GraduationRead],
    responses=errors(404),
)
def list_graduations(
    pool_code: str,
    session: SessionDep,
    principal: Read,
    status: Annotated[Literal["pending", "confirmed", "dismissed"] | None, Query()] = "pending",
):
    """成员达成培育目标（升规、新认定）时系统自动生成的提议，默认只列待确认的。"""
    rows = pool_graduation.graduations(session, actor=principal, pool_code=pool_code, status=status)
    return [graduation_read(r.graduation, r.enterprise) for r in rows]


# --- per enterprise --------------------------------------------------------------------------


def criterion_read(d: dict) -> CriterionRead:
    return CriterionRead(**{**d, "children": [criterion_read(c) for c in d["children"]]})


@router.get(
    "/api/v1/enterprises/{enterprise_id}/pools",
    summary="企业的培育库情况（入库记录与条件判断）",
    response_model=EnterprisePoolStatus,
    responses=errors(404),
)
def enterprise_pools(
    enterprise_id: int,
    _ent: CurrentEnterprise,
    session: SessionDep,
    principal: Read,
    year: Annotated[
        int | None, Query(ge=2000, le=2100, description="判断所用年度，默认该企业最近年度")
    ] = None,
):
    """每个培育库：是否在库、全部入库出库记录、各入库类别的每项条件（符合/不符合/待确认，附所用数据）、待确认的毕业提议。"""
    st = pool_status.enterprise_status(session, actor=principal, enterprise_id=enterprise_id, year=year)
    pools = [
        EnterprisePoolRead(
            code=p.pool_def.code,
            name=p.pool_def.name,
            document=p.pool_def.document,
            clause=p.pool_def.clause,
            member=membership_read(p.member) if p.member else None,
            history=[membership_read(m) for m in p.history],
            candidacy=p.candidacy,
            classes=[
                EntryClassStatus(
                    entry_class=s.entry_class,
                    name=s.name,
                    clause=s.clause,
                    status=s.status.value,
                    candidacy=p.class_candidacy[s.entry_class],
                    summary=s.summary,
                    criteria=[criterion_read(common.criterion_dict(r)) for r in s.results],
                )
                for s in p.statuses
            ],
            graduations=[graduation_read(g, st.enterprise) for g in p.graduations],
        )
        for p in st.pools
    ]
    return EnterprisePoolStatus(
        enterprise_id=enterprise_id,
        year=st.year,
        pools=pools,
        mu=MuYearRead(**st.mu) if st.mu else None,
        mu_records=[MuClassRead.model_validate(r).model_dump(mode="json") for r in st.mu_records],
    )


@router.get(
    "/api/v1/enterprises/{enterprise_id}/mu-classes",
    summary="企业各年度亩产效益评价类别",
    response_model=EnterpriseMuRead,
    responses=errors(404),
)
def enterprise_mu_classes(
    enterprise_id: int,
    _ent: CurrentEnterprise,
    session: SessionDep,
    principal: Read,
    cursor: Cursor = None,
    limit: Limit = 50,
):
    """录入或从县评价名单导入的各年度类别（新的在前）；暂定类别见 /api/v1/enterprises/{id}/pools 的 mu。"""
    records, next_cursor = pool_mu_records.mu_records(
        session, actor=principal, enterprise_id=enterprise_id, cursor=cursor, limit=limit
    )
    return EnterpriseMuRead(items=[MuClassRead.model_validate(r) for r in records], next_cursor=next_cursor)


@router.put(
    "/api/v1/enterprises/{enterprise_id}/mu-classes/{year}",
    summary="录入企业某年度亩产效益评价类别（县级）",
    response_model=MuClassRead,
    responses=errors(404),
)
def put_mu_class(
    enterprise_id: int,
    year: Annotated[int, Path(ge=2000, le=2100)],
    _ent: CurrentEnterprise,
    data: MuClassIn,
    session: SessionDep,
    principal: Write,
):
    """已评价的类别优先于按数据测算的暂定类别；若为该企业最近的评价年度，同时更新企业登记的现行类别。"""
    rec = pool_mu_records.record_mu_class(
        session,
        actor=principal,
        enterprise_id=enterprise_id,
        year=year,
        mu_class=data.mu_class,
        note=data.note,
    )
    return MuClassRead.model_validate(rec)
