"""JSON API for 聊城企业政策通: policy matching, registrations, the change feed and webhooks."""

import functools
import weakref
from datetime import date
from typing import Annotated

import pydantic_core
from fastapi import APIRouter, Body, Depends, Path, Query, Response

from app.accounts.permissions import Principal
from app.api.problems import responses
from app.api.reads import Reader, reading
from app.api.rendering import json_answer, rendered, rendered_plain
from app.deps import CurrentPrincipal, SessionDep, scoped
from app.errors import ValidationFailed
from app.integration import changes, matching, webhooks
from app.integration import service as integration_service
from app.integration.schemas import (
    ChangePage,
    DeliveryPage,
    DeliveryRead,
    DocumentInForce,
    EligibilityBatchIn,
    EligibilityBatchOut,
    EligiblePolicyPage,
    EntityType,
    IsoDate,
    MatchKind,
    MatchStatus,
    RegistrationIn,
    RegistrationRead,
    WebhookCreate,
    WebhookCreated,
    WebhookPage,
    WebhookRead,
)
from app.pagination import Cursor, decode_cursor, encode_cursor

router = APIRouter(tags=["integration 政策通对接"])


Uscc = Annotated[
    str,
    Path(
        min_length=18,
        max_length=18,
        description="统一社会信用代码（18 位，按 GB 32100-2015 校验）",
        examples=["91371525MA3C0F0X4D"],
    ),
]


def enterprise_by_uscc(uscc: Uscc, session: SessionDep, principal: CurrentPrincipal):
    """The enterprise in the path, resolved before the scope and the body: another township's is a 404."""
    return integration_service.enterprise_by_uscc(session, actor=principal, uscc=uscc)


def _enterprise_type():
    from app.enterprises.models import Enterprise

    return Enterprise


UsccEnterprise = Annotated[_enterprise_type(), Depends(enterprise_by_uscc)]


# --- policy matching -----------------------------------------------------------------------------


# The matcher's conditions, amounts and matches are typed values made by this application (app/integration/
# matching.py): written as the response schemas show them (their fields in their order) by pydantic-core's
# encoder, without a model per item checked or built again — model construction alone was a tenth of a 20-firm
# batch request. tests/integration/test_eligible_policies.py holds the answers to the schema.


def _condition(c: matching.Condition) -> dict:
    """A condition as ConditionRead shows it."""
    return {
        "key": c.key,
        "status": c.status,
        "explanation": c.explanation,
        "current_yuan": c.current_yuan,
        "target_yuan": c.target_yuan,
        "gap_yuan": c.gap_yuan,
    }


# A match as EligiblePolicyRead shows it, by the match's identity, for as long as the match lives. The matcher
# shares immutable matches between firms and requests (`matching._BY_PROFILE`, `_BY_HELD`, `_ENTRY_MATCHES`),
# so those are rendered once per process, not once per firm; a match made for one firm drops out when it is
# freed. A rendering here is only ever encoded, never changed.
_READS: dict[int, tuple[weakref.ref, dict]] = {}


def _policy(m: matching.Match) -> dict:
    key = id(m)
    known = _READS.get(key)
    if known is not None and known[0]() is m:
        return known[1]
    read = _policy_read(m)
    _READS[key] = weakref.ref(m, functools.partial(_forget_read, key)), read
    return read


def _forget_read(key: int, _ref: weakref.ref) -> None:
    _READS.pop(key, None)


def _policy_read(m: matching.Match) -> dict:
    a = m.amount
    reads = [_condition(c) for c in m.conditions]
    by_condition = {id(c): r for c, r in zip(m.conditions, reads, strict=True)}  # `missing` is some of them
    return {
        "id": m.id,
        "kind": m.kind,
        "status": m.status,
        "title": m.title,
        "document": m.document,
        "clause": m.clause,
        "clause_text": m.clause_text,
        "funder": m.funder,
        "amount": {"kind": a.kind, "yuan": a.yuan, "ceiling": a.ceiling, "funder": a.funder, "text": a.text}
        if a
        else None,
        "missing": [by_condition[id(c)] for c in m.missing],
        "conditions": reads,
        "review": m.review,
        "event_date": m.event_date,
    }


def _enterprise_ref(firm) -> dict:
    """An enterprise as EnterpriseRef shows it."""
    return {"id": firm.id, "uscc": firm.uscc, "name": firm.name, "township": firm.township}


AsOf = Annotated[
    IsoDate | None,
    Query(
        description="判断日期（YYYY-MM-DD），默认今天：只看这一天有效的政策文件和培育库",
        examples=["2023-06-30"],
    ),
]
StatusFilter = Annotated[
    list[MatchStatus] | None,
    Query(description="只返回这些状态：met 现已符合 / near 差条件可达 / unknown 待确认"),
]
KindFilter = Annotated[
    list[MatchKind] | None, Query(description="只返回这些类别：award / benefit / pool_entry")
]


def _documents(docs) -> list[DocumentInForce]:
    return [
        DocumentInForce(
            code=d.code,
            number=d.number,
            title=d.spec.title,
            start=d.spec.in_force.start,
            end=d.spec.in_force.end,
            version=d.version,
        )
        for d in docs
    ]


def _page(result: integration_service.Eligibility, cursor: str | None, limit: int) -> bytes:
    """The page as EligiblePolicyPage shows it, encoded."""
    start = 0
    if cursor:
        start, _ = decode_cursor(cursor, "eligible")
        if not isinstance(start, int) or start < 0:
            raise ValidationFailed.one("cursor", "分页游标无效，请从第一页重新开始")
    items = result.matches[start : start + limit]
    more = start + limit < len(result.matches)
    return pydantic_core.to_json(
        {
            "enterprise": _enterprise_ref(result.enterprise),
            "as_of": result.as_of,
            "documents_in_force": _documents(result.documents),
            "message": result.message,
            "year": result.year,
            "items": [_policy(m) for m in items],
            "next_cursor": encode_cursor("eligible", start + limit, start + limit) if more else None,
        }
    )


_ELIGIBLE_DOC = """
按企业的最近年度数据（主营业务收入、营业收入、研发投入…）、认定、是否规上、规模、所有制和所在培育库，
对照 `as_of` 当日有效的政策条款（app/policies）与培育库入库条件，列出企业**现已符合**（met）、
**差条件可达**（near：如“2024 年主营业务收入 1,650 万元，差 350 万元达到 2,000 万元”、尚未获得某项认定）
和**待确认**（unknown：缺数据、须人工判断、或须企业申报贷款/购置/获奖等系统未登记的事项）的规则，
每条给出可能的金额（`amount`，最高额为上限）、条款与原文、以及 `missing` 中缺什么。

因规模、所有制等不会改变的条件而不符合的规则不列出。排序：现已符合在前（金额大者在前），
其次差距小者，最后待确认。列表按 `cursor`/`limit` 分页。

`documents_in_force` 列出 `as_of` 当日有效的政策文件；当日没有有效文件时（如文件均已到期）该列表为空，
`message` 说明最近的文件是哪一份、何时失效——此时只会列出培育库入库条件。
"""


@router.get(
    "/api/v1/enterprises/{enterprise_id}/eligible-policies",
    summary="企业可享受或最接近的政策（政策直达）",
    response_model=EligiblePolicyPage,
    responses=responses(401, 403, 404, 422),
    description=_ELIGIBLE_DOC,
)
async def eligible_policies(
    enterprise_id: int,
    reader: Annotated[Reader, reading("policies:read")],
    as_of: AsOf = None,
    status: StatusFilter = None,
    kind: KindFilter = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
):
    def answer(session):
        result = integration_service.eligible_policies(
            session,
            actor=reader.principal,
            enterprise_id=enterprise_id,
            as_of=as_of,
            statuses=status,
            kinds=kind,
        )
        return _page(result, cursor, limit)

    return json_answer(await reader.run(answer))


@router.get(
    "/api/v1/enterprises/by-uscc/{uscc}/eligible-policies",
    summary="按统一社会信用代码查询企业可享受或最接近的政策",
    response_model=EligiblePolicyPage,
    responses=responses(401, 403, 404, 422),
    description=_ELIGIBLE_DOC + "\n统一社会信用代码校验位错误返回 422，未登记返回 404。",
)
async def eligible_policies_by_uscc(
    uscc: Uscc,
    reader: Annotated[Reader, reading("policies:read")],
    as_of: AsOf = None,
    status: StatusFilter = None,
    kind: KindFilter = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
):
    def answer(session):
        ent = integration_service.enterprise_by_uscc(session, actor=reader.principal, uscc=uscc)
        result = integration_service.eligible_policies(
            session, actor=reader.principal, enterprise_id=ent.id, as_of=as_of, statuses=status, kinds=kind
        )
        return _page(result, cursor, limit)

    return json_answer(await reader.run(answer))


@router.post(
    "/api/v1/eligible-policies:batch",
    summary="批量查询多家企业可享受或最接近的政策",
    response_model=EligibilityBatchOut,
    responses=responses(401, 403, 422),
)
def eligible_policies_batch(
    session: SessionDep,
    principal: Annotated[Principal, scoped("policies:read")],
    data: Annotated[
        EligibilityBatchIn,
        Body(
            openapi_examples={
                "by_uscc": {
                    "summary": "按统一社会信用代码",
                    "value": {"usccs": ["91371525MA3C0F0X4D"], "status": ["met", "near"], "limit": 5},
                },
                "by_id": {
                    "summary": "按企业 id",
                    "value": {"enterprise_ids": [12, 15], "as_of": "2023-06-30"},
                },
            }
        ),
    ],
):
    """一次最多 100 家（`enterprise_ids` 与 `usccs` 合计），结果与请求顺序一致；每家最多 `limit` 条，最接近者在前。

    某家企业未登记（或不在本乡镇范围内）时，该项 `found` 为 false 并给出原因，其余照常返回；
    统一社会信用代码校验位错误、重复或超过上限时整个请求返回 422，`errors` 指明字段（如 `usccs.3`）。
    """
    items = integration_service.eligible_policies_batch(
        session,
        actor=principal,
        enterprise_ids=data.enterprise_ids,
        usccs=data.usccs,
        as_of=data.as_of,
        statuses=data.status,
        kinds=data.kind,
    )
    results = []
    for it in items:
        if it.eligibility is None:
            results.append(
                {
                    "ref": it.ref,
                    "found": False,
                    "error": it.error,
                    "enterprise": None,
                    "year": None,
                    "items": [],
                    "more": False,
                }
            )
            continue
        e = it.eligibility
        results.append(
            {
                "ref": it.ref,
                "found": True,
                "error": None,
                "enterprise": _enterprise_ref(e.enterprise),
                "year": e.year,
                "items": [_policy(m) for m in e.matches[: data.limit]],
                "more": len(e.matches) > data.limit,
            }
        )
    as_of = items[0].eligibility.as_of if items and items[0].eligibility else (data.as_of or date.today())
    docs, message = integration_service.policy_coverage(session, as_of)
    out = {"as_of": as_of, "documents_in_force": _documents(docs), "message": message, "results": results}
    return rendered_plain(out)  # as EligibilityBatchOut shows it


# --- registrations -------------------------------------------------------------------------------


@router.put(
    "/api/v1/platform/registrations/{uscc}",
    summary="报送企业在聊城企业政策通的注册（幂等）",
    response_model=RegistrationRead,
    responses=responses(401, 403, 404, 409, 412, 422),
)
def put_registration(
    uscc: Uscc,
    ent: UsccEnterprise,
    session: SessionDep,
    principal: Annotated[Principal, scoped("platform:write")],
    data: Annotated[
        RegistrationIn,
        Body(
            openapi_examples={
                "registered": {"summary": "注册日期", "value": {"registered_date": "2023-05-06"}}
            }
        ),
    ],
):
    """平台报告某企业（按统一社会信用代码）已在聊城企业政策通注册及其日期，写入企业的
    `platform_registered_date`（计入 2023 年目标表第 6 项指标）。

    幂等：同一日期重复报送结果相同，只记一条审计记录；日期不同则以新日期为准（审计记录修改前后）。
    注册日期不能晚于今天；统一社会信用代码校验位错误返回 422，未登记返回 404。
    """
    ent, _changed = integration_service.register_on_platform(
        session, actor=principal, uscc=uscc, registered_date=data.registered_date
    )
    out = RegistrationRead(
        enterprise_id=ent.id,
        uscc=ent.uscc,
        name=ent.name,
        platform_registered_date=ent.platform_registered_date,
    )
    return rendered(out)  # rendered: the transaction commits on this thread (app.db.finish_on_handler_thread)


# --- change feed ---------------------------------------------------------------------------------


def _change(c: changes.Change) -> dict:
    """A change as ChangeRead shows it (its fields in its order): the page is written by pydantic-core's encoder
    without checking each entry against the schema again (tests/integration/test_changes.py holds the page to
    ChangePage)."""
    out = c.fields()
    out["changes"] = out["changes"] or {}
    return out


@router.get(
    "/api/v1/changes",
    summary="变更流：新认定、企业信息、培育库、奖补等的变更（游标跟随）",
    response_model=ChangePage,
    responses=responses(401, 403, 409, 422),
)
async def list_changes(
    reader: Annotated[Reader, reading("changes:read")],
    cursor: Cursor = None,
    since: Annotated[
        str | None, Query(max_length=500, pattern=r"^[A-Za-z0-9_-]+$", description="同 cursor（二者择一）")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    entity_type: Annotated[
        list[EntityType] | None,
        Query(
            max_length=20,
            description="只看这些实体类型，可多选：enterprise、enterprise_figure、honour、"
            "pool_membership、pool_graduation、award_line…",
        ),
    ] = None,
    enterprise_id: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="只看某家企业的变更")] = None,
):
    """按提交顺序返回审计记录中的变更（谁改了什么：`changes` 为字段的 [修改前, 修改后]）。

    从头读取时省略 `cursor`；之后每次带上一次响应的 `next_cursor`（总会返回，保存它即可在重启后继续）。
    `has_more` 为真时可立即取下一页，为假时稍后（如 30 秒后）再来。游标与服务重启无关，长期有效。

    只返回已提交且不会再有更早条目插入的变更：仍在进行中的事务写入的条目要等该事务结束后才出现，
    所以跟随者不会漏掉任何一条（可用 `id` 去重）。乡镇工作人员只看到本乡镇的变更。
    """
    if cursor and since and cursor != since:
        raise ValidationFailed.one("since", "since 与 cursor 只能填一个")
    after = changes.decode(cursor or since, field="cursor" if cursor else "since")

    def answer(session):
        page = changes.read(
            session,
            actor=reader.principal,
            after=after,
            limit=limit,
            entity_types=entity_type,
            enterprise_id=enterprise_id,
        )
        return pydantic_core.to_json(
            {
                "items": [_change(c) for c in page.items],
                "next_cursor": page.next_position.cursor(),
                "has_more": page.has_more,
            }
        )

    return json_answer(await reader.run(answer))


# --- webhooks ------------------------------------------------------------------------------------

WebhookId = Annotated[int, Path(ge=1, le=2**31 - 1, description="订阅 id")]


@router.post(
    "/api/v1/webhooks",
    summary="登记 webhook：把变更流推送到指定地址",
    status_code=201,
    response_model=WebhookCreated,
    responses=responses(401, 403, 422),
)
def create_webhook(
    session: SessionDep,
    principal: Annotated[Principal, scoped("webhooks:write")],
    data: WebhookCreate,
    response: Response,
):
    """登记接收地址。`yumiao deliver-webhooks` 按提交顺序把变更分批（每批最多 100 条）POST 过去，
    请求头 `X-Yumiao-Signature: sha256=<HMAC-SHA256(secret, 时间戳 + "." + 请求体)>`、`X-Yumiao-Timestamp`、
    `X-Yumiao-Delivery`；非 2xx 或超时按指数退避重试，超过次数记为失败并继续下一批。

    响应中的 `secret` 只返回这一次。需同时具有 `webhooks:write` 与 `changes:read`。
    """
    sub, secret = webhooks.create(
        session,
        actor=principal,
        name=data.name,
        url=data.url,
        entity_types=data.entity_types,
        start=data.start,
        start_after=data.start_after,
    )
    response.headers["Location"] = f"/api/v1/webhooks/{sub.id}"
    return WebhookCreated.model_validate({**WebhookRead.model_validate(sub).model_dump(), "secret": secret})


@router.get(
    "/api/v1/webhooks",
    summary="webhook 订阅列表",
    response_model=WebhookPage,
    responses=responses(401, 403, 422),
)
def list_webhooks(
    session: SessionDep,
    principal: Annotated[Principal, scoped("webhooks:write")],
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
):
    """API 密钥只看到自己登记的订阅；县级管理员看到全部。游标分页。"""
    rows, next_cursor = webhooks.list_page(session, actor=principal, cursor=cursor, limit=limit)
    return WebhookPage(items=[WebhookRead.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get(
    "/api/v1/webhooks/{webhook_id}",
    summary="webhook 订阅详情",
    response_model=WebhookRead,
    responses=responses(401, 403, 404, 422),
)
def get_webhook(
    webhook_id: WebhookId, session: SessionDep, principal: Annotated[Principal, scoped("webhooks:write")]
):
    """订阅的地址、实体类型与状态（不含密钥）。"""
    return webhooks.get(session, actor=principal, webhook_id=webhook_id)


@router.delete(
    "/api/v1/webhooks/{webhook_id}",
    summary="删除 webhook 订阅",
    status_code=204,
    responses=responses(401, 403, 404, 422),
)
def delete_webhook(
    webhook_id: WebhookId, session: SessionDep, principal: Annotated[Principal, scoped("webhooks:write")]
):
    """停止推送；投递记录保留。"""
    webhooks.delete(session, actor=principal, webhook_id=webhook_id)
    return Response(status_code=204)


@router.get(
    "/api/v1/webhooks/{webhook_id}/deliveries",
    summary="webhook 投递记录（最新在前）",
    response_model=DeliveryPage,
    responses=responses(401, 403, 404, 422),
)
def list_deliveries(
    webhook_id: WebhookId,
    session: SessionDep,
    principal: Annotated[Principal, scoped("webhooks:write")],
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
):
    """每批投递的状态（pending 待发/重试中、delivered 已送达、failed 已放弃）、尝试次数、最后一次的状态码或错误，
    以及所含变更的条目 id 范围（错过的变更可按此从变更流重新读取）。"""
    rows, next_cursor = webhooks.deliveries_page(
        session, actor=principal, webhook_id=webhook_id, cursor=cursor, limit=limit
    )
    return DeliveryPage(items=[DeliveryRead.model_validate(r) for r in rows], next_cursor=next_cursor)
