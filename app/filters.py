"""List filters read from the query string, the same on the API and on the pages (FastAPI dependencies)."""

import inspect
from typing import Annotated, Any, Literal

from fastapi import Depends, Query

from app import reference
from app.enterprises import service as enterprise_service
from app.enterprises.schemas import MuClass, Ownership, Size
from app.errors import ValidationFailed
from app.pools.listing import PoolFilters

# The township codes, in the document: the service checks them (an unknown code is a 422 naming it).
TOWNSHIP_ITEMS: dict[str, Any] = {"items": {"type": "string", "enum": list(reference.township_names())}}


def enterprise_filters(
    q: Annotated[str | None, Query(max_length=100, description="按企业名称或统一社会信用代码搜索")] = None,
    township: Annotated[
        list[str] | None, Query(description="乡镇代码，可多选", json_schema_extra=TOWNSHIP_ITEMS)
    ] = None,
    size: Annotated[list[Size] | None, Query(description="规模：micro/small/medium/large")] = None,
    ownership: Annotated[list[Ownership] | None, Query(description="所有制")] = None,
    above_scale: Annotated[bool | None, Query(description="是否规上")] = None,
    mu_class: Annotated[list[MuClass] | None, Query(description="亩产效益类别 A–D")] = None,
    honour: Annotated[str | None, Query(description="持有该认定（新认定或复审通过）")] = None,
    honour_level: Annotated[str | None, Query(description="认定级别")] = None,
    pool: Annotated[str | None, Query(description="在该培育库中（现有成员）")] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100, description="营业收入所取年度，默认最近年度")] = None,
    revenue_min: Annotated[int | None, Query(ge=0, description="营业收入下限（元）")] = None,
    revenue_max: Annotated[int | None, Query(ge=0, description="营业收入上限（元）")] = None,
) -> enterprise_service.ListFilters:
    # The API's query string is checked by the types above; a page calls this with the words it read.
    for name, values, allowed in (
        ("size", size, ("micro", "small", "medium", "large")),
        ("ownership", ownership, ("private", "state", "foreign", "other")),
        ("mu_class", mu_class, ("A", "B", "C", "D")),
    ):
        bad = [v for v in values or [] if v not in allowed]
        if bad:
            raise ValidationFailed.one(name, f"{name} 取值“{bad[0]}”无效，应为 {', '.join(allowed)} 之一")
    return enterprise_service.ListFilters(
        q=q,
        township=township,
        size=size,
        ownership=ownership,
        above_scale=above_scale,
        mu_class=mu_class,
        honour=honour,
        honour_level=honour_level,
        pool=pool,
        year=year,
        revenue_min=revenue_min,
        revenue_max=revenue_max,
    )


async def _enterprise_filters(**query) -> enterprise_service.ListFilters:
    return enterprise_filters(**query)


# The same parameters, read on the event loop: checking a query string is no reason for a trip to a thread.
_enterprise_filters.__signature__ = inspect.signature(enterprise_filters)  # type: ignore[attr-defined]

EnterpriseFilters = Annotated[enterprise_service.ListFilters, Depends(_enterprise_filters)]

Candidacy = Literal["met", "judgement", "missing", "failed"]


def pool_filters(
    year: Annotated[
        int | None, Query(ge=2000, le=2100, description="据以判断条件的年度数据，默认最近年度")
    ] = None,
    township: Annotated[list[str] | None, Query(description="乡镇代码，可多选")] = None,
    mu_class: Annotated[list[str] | None, Query(description="亩产效益类别 A–D，可多选（按所选年度）")] = None,
    entry_class: Annotated[str | None, Query(description="入库类别代码")] = None,
    candidacy: Annotated[
        list[str] | None, Query(description="判断结果：met、judgement（成员另有 missing、failed）")
    ] = None,
    q: Annotated[str | None, Query(max_length=100, description="按企业名称或统一社会信用代码搜索")] = None,
) -> PoolFilters:
    return PoolFilters(
        year=year, township=township, mu_class=mu_class, entry_class=entry_class, candidacy=candidacy, q=q
    )


PoolFiltersDep = Annotated[PoolFilters, Depends(pool_filters)]


def pool_api_filters(
    year: Annotated[
        int | None, Query(ge=2000, le=2100, description="据以判断条件的年度数据，默认最近年度")
    ] = None,
    township: Annotated[list[str] | None, Query(description="乡镇代码，可多选")] = None,
    mu_class: Annotated[
        list[MuClass] | None, Query(description="亩产效益类别 A–D，可多选（按所选年度）")
    ] = None,
    entry_class: Annotated[str | None, Query(description="入库类别代码")] = None,
    candidacy: Annotated[
        list[Candidacy] | None, Query(description="判断结果：met、judgement（成员另有 missing、failed）")
    ] = None,
    q: Annotated[str | None, Query(max_length=100, description="按企业名称或统一社会信用代码搜索")] = None,
) -> PoolFilters:
    """The API's pool filters: the same as the page's, with the closed sets typed, so the OpenAPI
    document lists their values (a page's form sends an empty value for "any")."""
    return pool_filters(
        year=year,
        township=township,
        mu_class=list(mu_class) if mu_class else None,
        entry_class=entry_class,
        candidacy=list(candidacy) if candidacy else None,
        q=q,
    )


PoolApiFilters = Annotated[PoolFilters, Depends(pool_api_filters)]
